import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { leaseTable, parseLeaseFile, type Lease, type LeaseFormat } from '../core/leases.js';
import type { Logger } from '../core/ports.js';

export type LeaseListener = (previous: ReadonlyMap<string, Lease> | null, current: ReadonlyMap<string, Lease>) => void;

export interface LeaseFileWatcherOptions {
  file: string;
  format: LeaseFormat;
  logger: Logger;
  /** Stat interval; a directory watch also wakes it early. Default 1000 ms. */
  pollMs?: number;
  /** A read counts only when a second read this much later is identical. Default 100 ms. */
  settleMs?: number;
}

/**
 * Follows a DHCP server's lease file. dnsmasq rewrites its file in place (truncate, then
 * write), ISC dhcpd and Kea rename a new file over it: either way a read can catch the file
 * half-written, and a half file would look like released leases. So a change is taken
 * only when two reads a moment apart agree. A missing or unreadable file keeps the last
 * table (a deleted file is not "every lease released").
 */
export class LeaseFileWatcher {
  private table: Map<string, Lease> | null = null;
  private readonly listeners = new Set<LeaseListener>();
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private lastSig = '';
  private lastText: string | null = null;
  private checking: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private lastError = '';

  constructor(private readonly o: LeaseFileWatcherOptions) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.check();
    this.timer = setInterval(() => void this.kick(), this.o.pollMs ?? 1000);
    this.timer.unref();
    try {
      const name = basename(this.o.file);
      this.watcher = watch(dirname(this.o.file), { persistent: false }, (_ev, f) => {
        if (f === null || f === name) void this.kick();
      });
      this.watcher.on('error', () => undefined);
    } catch (e) {
      this.o.logger.debug({ err: e }, 'no directory watch on the lease file; polling only');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
    await this.checking;
  }

  /** Called with the table before and after each change (previous null on the first read). */
  onChange(l: LeaseListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** The current table, empty until the file was read once. */
  current(): ReadonlyMap<string, Lease> {
    return this.table ?? new Map();
  }

  lease(ip: string): Lease | null {
    return this.table?.get(ip) ?? null;
  }

  /** Hostname the DHCP client sent for this address (untrusted text), or null. */
  hostnameFor(ip: string): string | null {
    return this.lease(ip)?.hostname ?? null;
  }

  macFor(ip: string): string | null {
    return this.lease(ip)?.mac ?? null;
  }

  /** Check now (coalesces with a check already running). */
  kick(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.again = false;
        await this.check();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async read(): Promise<{ sig: string; text: string } | null> {
    try {
      const st = await stat(this.o.file);
      const text = await readFile(this.o.file, 'utf8');
      this.lastError = '';
      return { sig: `${st.ino}:${st.size}:${st.mtimeMs}`, text };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (msg !== this.lastError) this.o.logger.warn({ file: this.o.file, err: msg }, 'cannot read the DHCP lease file; keeping the last leases');
      this.lastError = msg;
      return null;
    }
  }

  private async check(): Promise<void> {
    const first = await this.read();
    if (first === null || (first.sig === this.lastSig && this.table !== null)) return;
    let text = first.text;
    // Up to five tries for two reads that agree; a file that keeps changing is read next tick.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, this.o.settleMs ?? 100));
      const again = await this.read();
      if (again === null) return;
      if (again.text === text) {
        this.lastSig = again.sig;
        break;
      }
      text = again.text;
      if (i === 4) return;
    }
    if (text === this.lastText && this.table !== null) return;
    this.lastText = text;
    const parsed = parseLeaseFile(this.o.format, text);
    for (const p of parsed.problems.slice(0, 5)) this.o.logger.warn({ file: this.o.file, line: p.line }, `lease file: ${p.reason}`);
    const previous = this.table;
    const current = leaseTable(parsed.leases);
    this.table = current;
    this.o.logger.debug({ leases: current.size }, 'DHCP leases read');
    for (const l of this.listeners) {
      try {
        l(previous, current);
      } catch (e) {
        this.o.logger.error({ err: e }, 'lease listener failed');
      }
    }
  }
}
