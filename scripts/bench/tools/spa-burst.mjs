#!/usr/bin/env node
// Sends pre-encoded SPA packets from one UDP socket, run with `ip netns exec NS node spa-burst.mjs ...`:
//   spa-burst HOST PORT FILE PPS MAX_MS
// FILE holds one packet per line. PPS 0 sends as fast as the socket takes them (at most 256
// datagrams handed to libuv and not yet sent); otherwise the sends follow a PPS schedule
// measured from the first packet, so a late timer catches up instead of lowering the rate.
// The run stops after MAX_MS whatever remains. Prints one JSON line: {"sent","errors",
// "firstAt","lastAt"}, the times in epoch milliseconds (fractional) at which the first and the
// last datagram were handed to the kernel.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [host, portText, file, ppsText, maxMsText] = process.argv.slice(2);
const port = Number(portText);
const pps = Number(ppsText ?? 0);
const maxMs = Number(maxMsText ?? 60_000);
const packets = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l !== '')
  .map((l) => Buffer.from(l));
const now = () => performance.timeOrigin + performance.now();
const MAX_IN_FLIGHT = 256;

const sock = dgram.createSocket('udp4');
let sent = 0;
let errors = 0;
let inFlight = 0;
let wake = null;
let firstAt = null;
let lastAt = null;
let stop = false;

const deadline = setTimeout(() => (stop = true), maxMs);

function sendOne(p) {
  inFlight++;
  const at = now();
  firstAt ??= at;
  lastAt = at;
  sock.send(p, port, host, (err) => {
    inFlight--;
    if (err) errors++;
    else sent++;
    wake?.();
    wake = null;
  });
}

const drained = () => new Promise((r) => (wake = r));

sock.bind(0, async () => {
  const t0 = now();
  for (let i = 0; i < packets.length && !stop; i++) {
    if (pps > 0) {
      // Ahead of schedule: sleep until this packet is due (timers are ~1 ms coarse).
      const due = t0 + (i * 1000) / pps;
      const wait = due - now();
      if (wait > 1) await new Promise((r) => setTimeout(r, Math.floor(wait)));
    }
    while (inFlight >= MAX_IN_FLIGHT) await drained();
    sendOne(packets[i]);
  }
  while (inFlight > 0 && !stop) await drained();
  clearTimeout(deadline);
  sock.close();
  console.log(JSON.stringify({ sent, errors, firstAt, lastAt }));
  process.exit(0);
});
