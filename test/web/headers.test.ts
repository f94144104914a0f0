import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from 'express';
import { login, startApp } from './harness.js';

test('pages carry a strict CSP and the usual security headers', async () => {
  const h = await startApp();
  try {
    const b = await login(h);
    for (const p of ['/login', '/hosts', '/api/grants']) {
      const res = await fetch(h.url + p, { headers: p === '/login' ? {} : { Cookie: b.cookie } });
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/, p);
      assert.match(csp, /script-src 'self'(;|$)/, p);
      assert.match(csp, /frame-ancestors 'none'/, p);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|upgrade-insecure-requests/, p);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', p);
      assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN', p);
      assert.equal(res.headers.get('referrer-policy'), 'same-origin', p);
      assert.equal(res.headers.get('x-powered-by'), null, p);
      assert.equal(res.headers.get('strict-transport-security'), null, p);
    }
  } finally {
    await h.close();
  }
});

test('with TLS the app also sends HSTS and upgrade-insecure-requests', async () => {
  const h = await startApp({ options: { tls: true } });
  try {
    const res = await fetch(`${h.url}/login`);
    assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=31536000/);
    assert.match(res.headers.get('content-security-policy') ?? '', /upgrade-insecure-requests/);
  } finally {
    await h.close();
  }
});

test('rendered pages contain no inline script and load nothing from another origin', async () => {
  const h = await startApp();
  try {
    const b = await login(h);
    for (const p of ['/login', '/', '/hosts', '/events']) {
      const html = await (await fetch(h.url + p, { headers: { Cookie: b.cookie } })).text();
      for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
        assert.match(m[1], /src="\/static\//, `${p}: script without a same-origin src`);
        assert.equal(m[2].trim(), '', `${p}: inline script body`);
      }
      assert.doesNotMatch(html, /\son[a-z]+=/i, `${p}: inline event handler`);
      assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, `${p}: external resource`);
    }
  } finally {
    await h.close();
  }
});

test('pre-auth routers answer without a session but still get the security headers', async () => {
  const r = Router();
  r.get('/metrics', (_req, res) => {
    res.type('text/plain').send('up 1\n');
  });
  const h = await startApp({ preAuthRouters: [r] });
  try {
    const res = await fetch(`${h.url}/metrics`, { redirect: 'manual' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'up 1\n');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal((await fetch(`${h.url}/hosts`, { redirect: 'manual' })).status, 303);
  } finally {
    await h.close();
  }
});
