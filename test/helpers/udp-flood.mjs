#!/usr/bin/env node
// A bounded UDP flood for namespace tests, run with `ip netns exec NS node udp-flood.mjs ...`:
//   udp-flood HOST PORT COUNT SRC [FILE ...]
// sends COUNT datagrams from address SRC (0.0.0.0: any), cycling through: random bytes,
// base64-looking junk, and the first line of each FILE (captured SPA packets: replays,
// packets with a wrong HMAC). With COUNT 1 and one FILE it sends that packet once from SRC.
// At most 64 datagrams are in flight; the whole run is capped at 60 s. Prints the count sent.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [host, portText, countText, src, ...files] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const packets = files.map((f) => Buffer.from(readFileSync(f, 'utf8').split('\n')[0]));
const kinds = count === 1 && packets.length === 1 ? [() => packets[0]] : [
  () => randomBytes(40 + Math.floor(Math.random() * 400)),
  () => Buffer.from(randomBytes(150 + Math.floor(Math.random() * 150)).toString('base64').replace(/=+$/, '')),
  ...packets.map((p) => () => p),
];
const sock = dgram.createSocket('udp4');
const deadline = setTimeout(() => {
  console.log('timeout');
  process.exit(2);
}, 60_000);
sock.bind({ address: src && src !== '0.0.0.0' ? src : undefined }, async () => {
  let sent = 0;
  let inFlight = 0;
  let wake = null;
  for (let i = 0; i < count; i++) {
    while (inFlight >= 64) await new Promise((r) => (wake = r));
    inFlight++;
    sock.send(kinds[i % kinds.length](), port, host, () => {
      inFlight--;
      sent++;
      wake?.();
      wake = null;
    });
  }
  while (inFlight > 0) await new Promise((r) => (wake = r));
  clearTimeout(deadline);
  sock.close();
  console.log(String(sent));
});
