// Decode throughput on one core (this process, single-threaded): valid packets, packets with a
// wrong HMAC, and the cost of one wrong-HMAC stanza try, which is what a junk packet pays per
// configured stanza. Prints figures only; timings on shared machines are noisy.
import { createHmac, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { HashName } from '../../src/core/model.js';
import { compileKeys, decodeSpa, precheck, preparePacket } from '../../src/core/spa/decode.js';
import { encodeSpa } from '../../src/core/spa/encode.js';
import { HASHES, HASH_NAMES, type SpaFields, type SpaKeys } from '../../src/core/spa/types.js';

const random = { bytes: (n: number) => randomBytes(n) };
const fields: SpaFields = {
  random_value: '1234567890123456',
  username: 'alice',
  timestamp: 1796324772,
  version: '3.0.0',
  message_type: 1,
  message: '203.0.113.7,tcp/22',
  nat_access: null,
  server_auth: null,
  client_timeout: 0,
};

/** Runs `fn` in batches for about `ms` milliseconds; returns operations per second. */
function rate(fn: () => void, ms = 1000): number {
  for (let i = 0; i < 200; i++) fn(); // warm-up
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const us = (perSecond: number) => (1e6 / perSecond).toFixed(2);

const keys: SpaKeys = { key: randomBytes(32), hmacKey: randomBytes(64), hmacType: 'sha256', mode: 'cbc' };
const compiled = compileKeys(keys);
const packets = Array.from({ length: 256 }, () => encodeSpa(fields, keys, { digestType: 'sha256', random }));
const wrong = compileKeys({ ...keys, hmacKey: randomBytes(64) });
let sink = 0;
let i = 0;

console.log(
  `node ${process.version}, packet ${packets[0]!.length} characters (CBC, HMAC-SHA256, SHA-256 digest)`,
);
const valid = rate(() => {
  const r = decodeSpa(preparePacket(Buffer.from(packets[i++ & 255]!)), compiled);
  if (r.ok) sink++;
});
console.log(
  `valid packets:              ${fmt(valid)} packets/s (${us(valid)} us each, prechecks + HMAC + decrypt + fields)`,
);
const bad = rate(() => {
  const r = decodeSpa(preparePacket(Buffer.from(packets[i++ & 255]!)), wrong);
  if (!r.ok) sink++;
});
console.log(`wrong-HMAC packets:         ${fmt(bad)} packets/s (${us(bad)} us each, one stanza)`);
const junk = Buffer.from('A'.repeat(200));
const pre = rate(() => {
  if (precheck(junk) !== null) sink++;
});
console.log(`junk rejected by precheck:  ${fmt(pre)} packets/s (no crypto)`);

// Per-try cost with many stanzas: one prepared packet tried against N stanzas whose HMAC keys all differ.
const N = 1000;
console.log(
  `\nper wrong-HMAC stanza try (one packet tried against ${N} stanzas, each with its own HMAC key):`,
);
for (const t of HASH_NAMES) {
  const stanzas = Array.from({ length: N }, () =>
    compileKeys({ ...keys, hmacType: t, hmacKey: randomBytes(64) }),
  );
  const p = preparePacket(encodeSpa(fields, { ...keys, hmacType: t }, { digestType: 'sha256', random }));
  const perPacket = rate(() => {
    for (const s of stanzas) if (!decodeSpa(p, s).ok) sink++;
  }, 700);
  // A bare createHmac over the same body: the floor a try cannot go below in Node.
  const rawKeys = Array.from({ length: N }, () => randomBytes(64));
  const body = p.prefixed.subarray(0, p.prefixed.length - HASHES[t].b64len);
  const naive = rate(() => {
    for (const k of rawKeys) sink += createHmac(HASHES[t].node, k).update(body).digest()[0]!;
  }, 700);
  console.log(
    `  ${t.padEnd(9)} ${(1e6 / perPacket / N).toFixed(2)} us/try  -> a junk packet vs ${N} stanzas costs ${(1e3 / perPacket).toFixed(2)} ms` +
      `  (bare createHmac: ${(1e6 / naive / N).toFixed(2)} us)`,
  );
}
if (sink < 0) console.log(sink);
