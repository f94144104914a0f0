#!/usr/bin/env node
// A held TCP connection for "does revoke cut open connections" tests, run with
// `ip netns exec NS node echo-tools.mjs ...`.
//   serve PORT             echo every byte back, on all addresses; prints "listening" once bound
//   hold HOST PORT MS      connect, write "ping\n" every 200 ms for at most MS milliseconds, print
//                          "connected" once, "echo" per echoed line, "closed"/"error" when the
//                          connection ends; exits when it ends or after MS
import net from 'node:net';

const [mode, ...a] = process.argv.slice(2);
if (mode === 'serve') {
  const srv = net.createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  srv.listen(Number(a[0]), '0.0.0.0', () => console.log('listening'));
} else if (mode === 'hold') {
  const [host, port, ms] = [a[0], Number(a[1]), Number(a[2] ?? 60000)];
  const s = net.connect({ host, port });
  let buf = '';
  const pinger = setInterval(() => s.write('ping\n'), 200);
  const stop = setTimeout(() => {
    s.destroy();
    process.exit(0);
  }, ms);
  const end = (what) => {
    console.log(what);
    clearInterval(pinger);
    clearTimeout(stop);
    process.exit(0);
  };
  s.on('connect', () => console.log('connected'));
  s.on('data', (b) => {
    buf += b;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      buf = buf.slice(i + 1);
      console.log('echo');
    }
  });
  s.on('close', () => end('closed'));
  s.on('error', () => end('error'));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
