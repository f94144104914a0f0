#!/usr/bin/env node
// One HTTP request from inside a namespace, run with `ip netns exec NS node http-tools.mjs ...`:
//   get URL                 GET, no redirect following
//   post-form URL k=v ...   POST application/x-www-form-urlencoded
//   post-json URL JSON [BEARER]
// Prints {"status","location","contentType","body"} as JSON; exit 2 when the request failed.
// Every request times out after 5 s.
const [mode, url, ...rest] = process.argv.slice(2);
const init = { redirect: 'manual', signal: AbortSignal.timeout(5000), headers: {} };
if (mode === 'post-form') {
  init.method = 'POST';
  init.headers['content-type'] = 'application/x-www-form-urlencoded';
  init.body = new URLSearchParams(rest.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])).toString();
} else if (mode === 'post-json') {
  init.method = 'POST';
  init.headers['content-type'] = 'application/json';
  init.body = rest[0];
  if (rest[1]) init.headers.authorization = `Bearer ${rest[1]}`;
} else if (mode !== 'get') {
  console.error(`unknown mode ${mode}`);
  process.exit(64);
}
try {
  const r = await fetch(url, init);
  const body = await r.text();
  console.log(JSON.stringify({ status: r.status, location: r.headers.get('location'), contentType: r.headers.get('content-type'), body }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e?.cause?.code ?? e?.message ?? e) }));
  process.exit(2);
}
