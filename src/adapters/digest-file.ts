/**
 * fwknopd's replay cache file (spec 10), kept when the admin passes `-d FILE` so that
 * operators' tools keep reading it. One header line, then one line per digest:
 *   <digest> <proto> <src_ip> <src_port> <dst_ip> <dst_port> <unix-seconds>
 * The file only grows, as fwknopd's does; the SQLite replay table is what spagate prunes.
 */
import { open, readFile } from 'node:fs/promises';
import { isIpv4 } from '../core/ipv4.js';
import type { Logger, ReplayEntry } from '../core/ports.js';
import { StoreFailure, toStoreError } from './store-errors.js';

export const DIGEST_FILE_HEADER = '# <digest> <proto> <src_ip> <src_port> <dst_ip> <dst_port> <time>\n';

const DIGITS = /^[0-9]+$/;

function intIn(s: string, max: number): number | null {
  if (!DIGITS.test(s)) return null;
  const n = Number(s);
  return n <= max ? n : null;
}

/** The file line for an entry, `\n` included. Times are whole seconds, rounded down. */
export function formatDigestLine(e: ReplayEntry): string {
  return `${e.digest} ${e.proto} ${e.srcIp} ${e.srcPort} ${e.dstIp} ${e.dstPort} ${Math.floor(e.at / 1000)}\n`;
}

/**
 * Parse one line as fwknopd does: comment and blank lines (first character `#`, `;`,
 * CR, LF or NUL) and lines that do not parse give null. Trailing fields are ignored,
 * as fwknopd's sscanf ignores them. Stricter than fwknopd on numbers: where its
 * `%hhu`/`%hu` would silently wrap an out-of-range protocol or port, the line is skipped.
 */
export function parseDigestLine(line: string): ReplayEntry | null {
  const first = line.charAt(0);
  if (first === '' || first === '#' || first === ';' || first === '\r' || first === '\n' || first === '\0')
    return null;
  const f = line.trim().split(/[ \t]+/);
  if (f.length < 7) return null;
  const [digest, proto, srcIp, srcPort, dstIp, dstPort, time] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (digest.length > 64) return null;
  const p = intIn(proto, 255);
  const sp = intIn(srcPort, 65535);
  const dp = intIn(dstPort, 65535);
  const t = intIn(time, Number.MAX_SAFE_INTEGER / 1000);
  if (p === null || sp === null || dp === null || t === null) return null;
  if (!isIpv4(srcIp) || !isIpv4(dstIp)) return null;
  return { digest, proto: p, srcIp, srcPort: sp, dstIp, dstPort: dp, at: t * 1000 };
}

export class DigestFile {
  /** Appends run one after another, so lines never interleave. */
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly logger: Logger | undefined,
  ) {}

  /**
   * Open the cache at `path`, creating it (mode 0600, with the header line) when missing.
   * Failures are StoreFailure errors (kind `cantopen`, `readonly`, `full`...).
   */
  static async open(path: string, opts: { logger?: Logger } = {}): Promise<DigestFile> {
    let fh;
    try {
      fh = await open(path, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return new DigestFile(path, opts.logger);
      throw toStoreError(e, `creating digest file ${path}`);
    }
    try {
      // open()'s mode passes through the umask; fwknopd insists on exactly 0600.
      await fh.chmod(0o600);
      await fh.writeFile(DIGEST_FILE_HEADER);
    } catch (e) {
      throw toStoreError(e, `writing digest file ${path}`);
    } finally {
      await fh.close();
    }
    return new DigestFile(path, opts.logger);
  }

  /** Every valid entry in file order; bad lines are skipped and logged, as fwknopd does. */
  async load(): Promise<ReplayEntry[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'latin1');
    } catch (e) {
      throw toStoreError(e, `reading digest file ${this.path}`);
    }
    const out: ReplayEntry[] = [];
    const lines = text.split('\n');
    // A final "\n" leaves an empty last piece, which is not a line.
    if (lines[lines.length - 1] === '') lines.pop();
    lines.forEach((line, i) => {
      const e = parseDigestLine(line);
      if (e) out.push(e);
      else if (!/^([#;\r\0]|$)/.test(line))
        this.logger?.warn({ file: this.path, line: i + 1 }, 'skipping invalid digest cache line');
    });
    return out;
  }

  append(e: ReplayEntry): Promise<void> {
    if (/[\s]/.test(e.digest) || e.digest.length === 0 || e.digest.length > 64) {
      return Promise.reject(
        new StoreFailure('other', 'store: digest file entries need a digest of 1-64 non-blank characters'),
      );
    }
    const line = formatDigestLine(e);
    const next = this.tail.then(async () => {
      let fh;
      try {
        fh = await open(this.path, 'a', 0o600);
        await fh.writeFile(line);
      } catch (err) {
        throw toStoreError(err, `appending to digest file ${this.path}`);
      } finally {
        await fh?.close();
      }
    });
    // A failed append must not block the ones after it.
    this.tail = next.catch(() => undefined);
    return next;
  }
}
