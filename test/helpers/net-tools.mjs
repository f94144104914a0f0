#!/usr/bin/env node
// Tiny network tools for namespace tests, run with `ip netns exec NS node net-tools.mjs ...`.
//   listen PORT            TCP: answer each connection with the peer's address, then close
//   connect HOST PORT MS   TCP connect; print what the server said; exit 1 if no answer within MS
//   udp-file HOST PORT FILE send the first line of FILE as one UDP datagram
// Every wait is bounded.
import net from 'node:net';

const [mode, ...a] = process.argv.slice(2);
if (mode === 'listen') {
  const srv = net.createServer((s) => {
    s.end(`${s.remoteAddress?.replace(/^::ffff:/, '')}\n`);
    s.on('error', () => undefined);
  });
  srv.listen(Number(a[0]), '0.0.0.0', () => console.log('listening'));
} else if (mode === 'connect') {
  const [host, port, ms] = [a[0], Number(a[1]), Number(a[2] ?? 1000)];
  const s = net.connect({ host, port });
  let data = '';
  const t = setTimeout(() => {
    s.destroy();
    process.exit(1);
  }, ms);
  s.on('data', (b) => (data += b));
  s.on('end', () => {
    clearTimeout(t);
    process.stdout.write(data);
    process.exit(data ? 0 : 1);
  });
  s.on('error', () => process.exit(1));
} else if (mode === 'udp-file') {
  // udp-file HOST PORT FILE: send the file's first line as one datagram (a captured SPA packet)
  const { readFileSync } = await import('node:fs');
  const dgram = await import('node:dgram');
  const payload = readFileSync(a[2], 'utf8').split('\n')[0];
  const sock = dgram.createSocket('udp4');
  sock.send(payload, Number(a[1]), a[0], (err) => {
    sock.close();
    process.exit(err ? 1 : 0);
  });
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
