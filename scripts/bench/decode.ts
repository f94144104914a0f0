// Decode throughput on one core (this process, single-threaded): valid packets, packets with a
// wrong HMAC, and the cost of one wrong-HMAC stanza try, which is what a junk packet pays per
// configured stanza. Prints figures only; timings on shared machines are noisy.
import { createHmac, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
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
  `node ${process.version}, packet ${packets[0].length} characters (CBC, HMAC-SHA256, SHA-256 digest)`,
);
const valid = rate(() => {
  const r = decodeSpa(preparePacket(Buffer.from(packets[i++ & 255])), compiled);
  if (r.ok) sink++;
});
console.log(
  `valid packets:              ${fmt(valid)} packets/s (${us(valid)} us each, prechecks + HMAC + decrypt + fields)`,
);
const bad = rate(() => {
  const r = decodeSpa(preparePacket(Buffer.from(packets[i++ & 255])), wrong);
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
    for (const k of rawKeys) sink += createHmac(HASHES[t].node, k).update(body).digest()[0];
  }, 700);
  console.log(
    `  ${t.padEnd(9)} ${(1e6 / perPacket / N).toFixed(2)} us/try  -> a junk packet vs ${N} stanzas costs ${(1e3 / perPacket).toFixed(2)} ms` +
      `  (bare createHmac: ${(1e6 / naive / N).toFixed(2)} us)`,
  );
}
if (sink < 0) console.log(sink);

// What the gateway pays per packet with 1,000 stanzas (all SOURCE ANY, each its own keys), through
// verifyPacket as src/gateway.ts calls it: junk like ../shared/bench/js/flood.js sends, the same
// junk forced to start like a Rijndael packet, well-formed packets with a wrong HMAC, and the
// legitimate client of the last stanza with and without the per-source stanza hint.
{
  const { compileStanzas, verifyPacket } = await import('../../src/core/verify.js');
  const { serverConfig, stanza } = await import('../../test/helpers/fixtures.js');
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const b64 = (n: number) => Array.from(randomBytes(n), (b) => B64[b & 63]).join('');
  const now = fields.timestamp * 1000;
  const options = serverConfig({ enableSpaPacketAging: false });
  const list = Array.from({ length: N }, (_, k) =>
    stanza({ id: `access.conf:${k + 1}`, key: randomBytes(32), keyIsPassphrase: false, hmacKey: randomBytes(64) }),
  );
  const compiledList = compileStanzas(list);
  const last = list[N - 1];
  const lastKeys: SpaKeys = { key: last.key, hmacKey: last.hmacKey, hmacType: 'sha256', mode: 'cbc' };
  const run = (payload: Buffer, prefer: string | null = null) =>
    verifyPacket({
      packet: { payload, srcIp: '192.168.200.2', srcPort: 1, dstIp: '192.168.200.1', dstPort: 62201, srcMac: null, proto: 17, receivedAt: now },
      stanzas: compiledList,
      options,
      now,
      seen: () => false,
      preferStanzaId: prefer,
    });
  const pools = {
    'junk (flood.js: base64, 180..260)': Array.from({ length: 512 }, () => Buffer.from(b64(180 + (randomBytes(1)[0] % 81)))),
    'junk starting with "8"': Array.from({ length: 512 }, () => Buffer.from('8' + b64(179 + (randomBytes(1)[0] % 81)))),
    'wrong HMAC, well formed': Array.from({ length: 64 }, () => {
      const p = encodeSpa(fields, { ...lastKeys, hmacKey: randomBytes(64) }, { digestType: 'sha256', random });
      return Buffer.from(p.slice(0, -43) + b64(42) + 'A');
    }),
  };
  console.log(`\nverifyPacket with ${N} stanzas (SOURCE ANY, distinct keys), per packet:`);
  for (const [name, pool] of Object.entries(pools)) {
    let j = 0;
    const r = rate(() => {
      if (run(pool[j++ % pool.length]).kind === 'reject') sink++;
    }, 1000);
    console.log(`  ${name.padEnd(36)} ${(1e3 / r).toFixed(3)} ms`);
  }
  for (const prefer of [null, last.id]) {
    let j = 0;
    const r = rate(() => {
      const p = Buffer.from(encodeSpa({ ...fields, random_value: String(1e15 + j++) }, lastKeys, { digestType: 'sha256', random }));
      if (run(p, prefer).kind === 'grant') sink++;
    }, 700);
    console.log(`  ${(prefer ? 'legitimate, last stanza, hinted' : 'legitimate, last stanza, no hint').padEnd(36)} ${(1e3 / r).toFixed(3)} ms (encoding included)`);
  }
}
