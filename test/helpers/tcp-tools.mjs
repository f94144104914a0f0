#!/usr/bin/env node
// TCP tools for namespace tests and benchmarks, run with `ip netns exec NS node tcp-tools.mjs ...`.
//   listen PORT [BANNER]          answer each connection with "[BANNER ]<peer address>", then close;
//                                 prints "listening" once bound (all addresses)
//   connect HOST PORT MS [LOCAL]  TCP connect (from LOCAL address when given); print what the
//                                 server said; exit 1 if no answer within MS
//   rate HOST PORT MS [PARALLEL]  open connections for MS milliseconds, PARALLEL at a time (1),
//                                 each waiting for the server's answer; prints JSON
//                                 {"ok":N,"failed":N,"ms":N,"perSecond":N}
//   udp HOST PORT                 send standard input (one line) as one UDP datagram; prints the
//                                 epoch milliseconds (fractional) at which it was handed to the kernel
// Every wait is bounded.
import net from 'node:net';

const [mode, ...a] = process.argv.slice(2);

/** One connection: resolves with what the server said, or null (refused, reset, timeout). */
function once(host, port, ms, localAddress) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    let data = '';
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => finish(null), ms);
    s.on('data', (b) => (data += b));
    s.on('end', () => finish(data || null));
    s.on('error', () => finish(null));
  });
}

if (mode === 'listen') {
  const banner = a[1] ? `${a[1]} ` : '';
  const srv = net.createServer((s) => {
    s.on('error', () => undefined);
    s.end(`${banner}${s.remoteAddress?.replace(/^::ffff:/, '')}\n`);
  });
  srv.listen(Number(a[0]), '0.0.0.0', () => console.log('listening'));
} else if (mode === 'connect') {
  const said = await once(a[0], Number(a[1]), Number(a[2] ?? 1000), a[3]);
  if (said === null) process.exit(1);
  process.stdout.write(said);
  process.exit(0);
} else if (mode === 'rate') {
  const [host, port, ms, parallel] = [a[0], Number(a[1]), Number(a[2]), Number(a[3] ?? 1)];
  const until = Date.now() + ms;
  let ok = 0;
  let failed = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (Date.now() < until) {
      if ((await once(host, port, 1000)) === null) failed++;
      else ok++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
  const took = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ ok, failed, ms: Math.round(took), perSecond: Math.round((ok * 1000) / took) }));
  process.exit(0);
} else if (mode === 'udp') {
  const dgram = await import('node:dgram');
  const { performance } = await import('node:perf_hooks');
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const payload = Buffer.concat(chunks).toString('utf8').split('\n')[0];
  const sock = dgram.createSocket('udp4');
  const at = performance.timeOrigin + performance.now();
  sock.send(payload, Number(a[1]), a[0], (err) => {
    sock.close();
    if (err) process.exit(1);
    console.log(at.toFixed(3));
    process.exit(0);
  });
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
