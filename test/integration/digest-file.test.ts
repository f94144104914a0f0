import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DIGEST_FILE_HEADER,
  DigestFile,
  formatDigestLine,
  parseDigestLine,
} from '../../src/adapters/digest-file.js';
import { storeErrorKind } from '../../src/adapters/store-errors.js';
import type { Logger, ReplayEntry } from '../../src/core/ports.js';

// Spec section 10's example: vector hmac-sha256 from 203.0.113.7:40001 to a UDP-server daemon.
const SPEC_LINE =
  'QrM+NztKhxVKI7vYKLCLs0GXdlI4bWcPzraiHdY7+J4 17 203.0.113.7 40001 0.0.0.0 62201 1796324775\n';
const SPEC_ENTRY: ReplayEntry = {
  digest: 'QrM+NztKhxVKI7vYKLCLs0GXdlI4bWcPzraiHdY7+J4',
  proto: 17,
  srcIp: '203.0.113.7',
  srcPort: 40001,
  dstIp: '0.0.0.0',
  dstPort: 62201,
  at: 1796324775_000,
};

let root = '';
let n = 0;
const fresh = (): string => join(root, `digest${++n}.cache`);

function recordingLogger(): Logger & { warnings: object[] } {
  const warnings: object[] = [];
  const l = {
    warnings,
    debug: () => undefined,
    info: () => undefined,
    warn: (o: object) => void warnings.push(o),
    error: () => undefined,
    child: () => l,
  };
  return l;
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'spagate-digest-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('DigestFile', () => {
  test('formatDigestLine writes the spec example line exactly, dropping milliseconds', () => {
    assert.equal(formatDigestLine({ ...SPEC_ENTRY, at: SPEC_ENTRY.at + 999 }), SPEC_LINE);
  });

  test('parseDigestLine reads the spec example line', () => {
    assert.deepEqual(parseDigestLine(SPEC_LINE.trimEnd()), SPEC_ENTRY);
  });

  test('open creates the file with mode 0600 and the header line only', async () => {
    const path = fresh();
    const old = process.umask(0);
    try {
      await DigestFile.open(path);
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(readFileSync(path, 'utf8'), DIGEST_FILE_HEADER);
    assert.equal(DIGEST_FILE_HEADER, '# <digest> <proto> <src_ip> <src_port> <dst_ip> <dst_port> <time>\n');
  });

  test('append adds one line per entry after the header and load reads them back', async () => {
    const path = fresh();
    const f = await DigestFile.open(path);
    await f.append(SPEC_ENTRY);
    const second = {
      ...SPEC_ENTRY,
      digest: 'x'.repeat(64),
      proto: 6,
      srcIp: '198.51.100.1',
      srcPort: 0,
      dstIp: '192.0.2.1',
      dstPort: 65535,
      at: 0,
    };
    await f.append(second);
    assert.equal(readFileSync(path, 'utf8'), DIGEST_FILE_HEADER + SPEC_LINE + formatDigestLine(second));
    assert.deepEqual(await f.load(), [SPEC_ENTRY, second]);
  });

  test('open keeps an existing file untouched', async () => {
    const path = fresh();
    writeFileSync(path, DIGEST_FILE_HEADER + SPEC_LINE, { mode: 0o600 });
    const f = await DigestFile.open(path);
    assert.equal(readFileSync(path, 'utf8'), DIGEST_FILE_HEADER + SPEC_LINE);
    assert.deepEqual(await f.load(), [SPEC_ENTRY]);
  });

  test('load skips comment, blank and malformed lines as fwknopd does and logs the malformed ones', async () => {
    const path = fresh();
    const bad = [
      'd1 17 300.1.1.1 1 0.0.0.0 62201 1796324775',
      'd2 17 203.0.113.7 70000 0.0.0.0 62201 1796324775',
      'd3 256 203.0.113.7 1 0.0.0.0 62201 1796324775',
      'd4 17 203.0.113.7 1 0.0.0.0 62201',
      `${'y'.repeat(65)} 17 203.0.113.7 1 0.0.0.0 62201 1796324775`,
      'd5 17 203.0.113.7 1 0.0.0.0 62201 soon',
      'd6 17 203.0.113.7 -1 0.0.0.0 62201 1796324775',
    ];
    const text = [
      DIGEST_FILE_HEADER.trimEnd(),
      '; a comment',
      '',
      '\r',
      SPEC_LINE.trimEnd(),
      ...bad,
      'tab\t6\t198.51.100.1\t2\t0.0.0.0\t62201\t5 trailing fields ignored',
    ].join('\n');
    writeFileSync(path, `${text}\n`, { mode: 0o600 });
    const log = recordingLogger();
    const f = await DigestFile.open(path, { logger: log });
    const got = await f.load();
    assert.deepEqual(got, [
      SPEC_ENTRY,
      {
        digest: 'tab',
        proto: 6,
        srcIp: '198.51.100.1',
        srcPort: 2,
        dstIp: '0.0.0.0',
        dstPort: 62201,
        at: 5000,
      },
    ]);
    assert.equal(log.warnings.length, bad.length);
  });

  test('concurrent appends each land as one whole line', async () => {
    const path = fresh();
    const f = await DigestFile.open(path);
    const entries = Array.from({ length: 50 }, (_, i) => ({
      ...SPEC_ENTRY,
      digest: `digest${i}`,
      srcPort: i,
    }));
    await Promise.all(entries.map((e) => f.append(e)));
    assert.deepEqual(await f.load(), entries);
  });

  test('append refuses a digest that would break the line format', async () => {
    const f = await DigestFile.open(fresh());
    await assert.rejects(f.append({ ...SPEC_ENTRY, digest: 'two words' }));
    await assert.rejects(f.append({ ...SPEC_ENTRY, digest: '' }));
    assert.deepEqual(await f.load(), []);
  });

  test('open in a missing directory gives a cantopen StoreError', async () => {
    await assert.rejects(
      DigestFile.open(join(root, 'no', 'such', 'dir', 'digest.cache')),
      (e: unknown) => storeErrorKind(e) === 'cantopen',
    );
  });
});
