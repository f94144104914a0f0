/**
 * The captive portal in real headless Chromium, over the in-process gateway with real users
 * and enrollment: the status page of a client that is not online, a refused code, a good
 * code giving the stanza, its download and a QR code that decodes to the stanza's keys,
 * then a real SPA packet with those keys and the page (and RFC 8908 API) saying online.
 * Screenshots go to test-output/screenshots/portal-*.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { createLogger } from '../../src/adapters/pino-logger.js';
import { createPortalApp } from '../../src/portal/app.js';
import { requireRoot } from '../helpers/netns.js';
import { keysOf, startUsersInProcess } from '../unit/users/helpers.js';
import { chromiumAvailable, launchChromium, shot, watchPage } from '../web/browser.js';

// jsqr ships CommonJS with an ES-style default export in its types.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const MAC = '02:00:00:00:00:09'; // the MAC the in-process packets carry

function decodeQr(dataUrl: string): string | null {
  const png = PNG.sync.read(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null;
}

test('portal in Chromium: status, enrollment with stanza, download and QR, then online', { timeout: 120_000 }, async (t) => {
  if (!requireRoot(t)) return;
  if (!chromiumAvailable()) {
    t.skip('CHROMIUM MISSING: /usr/bin/chromium not installed, browser test skipped');
    console.warn('*** SKIPPED: /usr/bin/chromium not installed');
    return;
  }
  const gw = await startUsersInProcess();
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const portalUrl = `http://127.0.0.1:${port}/`;
  server.on(
    'request',
    createPortalApp({
      grants: () => gw.running.gateway.liveGrants(),
      now: () => gw.clock.now(),
      macFor: () => Promise.resolve(MAC),
      hostnameFor: () => 'test-laptop',
      portalUrl,
      portalHosts: [`127.0.0.1:${port}`],
      redeemer: gw.users.enrollment,
      gatewayIp: '127.0.0.1',
      logger: createLogger('silent'),
    }),
  );
  const browser = await launchChromium();
  try {
    const ctx = await browser.newContext({ acceptDownloads: true });
    const page = await ctx.newPage();
    const problems = watchPage(page);

    await page.goto(portalUrl);
    assert.equal((await page.textContent('#state'))?.trim(), 'You are not online yet');
    assert.equal(await page.textContent('#ip'), '127.0.0.1');
    assert.equal(await page.textContent('#mac'), MAC);
    assert.equal(await page.textContent('#hostname'), 'test-laptop');
    assert.ok(await page.isVisible('#tls-warning'), 'plain HTTP: the page warns');
    assert.equal(await page.textContent('#cmd-fwknop'), 'fwknop -n NAME');
    await shot(page, 'portal-status-offline');

    await page.click('#enroll-link');
    assert.ok(page.url().endsWith('/enroll'));
    assert.ok(await page.isVisible('#tls-warning'));
    await page.fill('#code', 'ABCD-EFGH');
    await page.click('#redeem');
    assert.match((await page.textContent('#enroll-error')) ?? '', /Unknown enrollment code/);
    await shot(page, 'portal-enroll-refused');

    const issued = await gw.users.enrollment.issue({ name: 'laptop', source: 'ANY', options: [], expiresAt: null }, 'admin');
    await page.fill('#code', issued.code.toLowerCase());
    await page.click('#redeem');
    const stanza = (await page.textContent('#stanza')) ?? '';
    assert.match(stanza, /^\[laptop\]\n/);
    const keys = keysOf(stanza);
    const qrSrc = (await page.getAttribute('#qr', 'src')) ?? '';
    assert.match(qrSrc, /^data:image\/png;base64,/);
    assert.equal(decodeQr(qrSrc), `KEY_BASE64:${keys.key} HMAC_KEY_BASE64:${keys.hmac}`, 'the QR code carries the keys of the stanza shown');
    assert.equal(await page.textContent('#cmd-fwknop'), 'fwknop -n laptop');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'fwknoprc-laptop');
    assert.equal(readFileSync(await download.path(), 'utf8'), stanza, 'the download is the stanza shown');
    await shot(page, 'portal-enrolled');

    // The stanza's keys work: one SPA packet from this client puts it online.
    gw.knock(keys, '127.0.0.1', 'laptop');
    await gw.settle();
    assert.equal(gw.running.gateway.liveGrants().length, 1);
    await page.goto(portalUrl);
    assert.equal((await page.textContent('#state'))?.trim(), 'You are online');
    assert.equal(await page.textContent('#user'), 'laptop');
    assert.equal(await page.textContent('#cmd-fwknop'), 'fwknop -n laptop');
    const secs = Number(await page.getAttribute('#time-left', 'data-seconds'));
    assert.ok(secs > 0, `seconds left ${secs}`);
    await shot(page, 'portal-status-online');

    const api = await page.goto(`${portalUrl}api/captive`);
    assert.match(api?.headers()['content-type'] ?? '', /^application\/captive\+json/);
    const body = (await api?.json()) as Record<string, unknown>;
    assert.deepEqual(body, { captive: false, 'user-portal-url': portalUrl, 'seconds-remaining': secs, 'can-extend-session': true });

    // The refused code is a 400 on purpose; anything else (CSP violations, 404s) is a fault.
    const errors = problems.errors.filter((e) => !e.includes('status of 400'));
    assert.deepEqual({ errors, alerts: problems.alerts }, { errors: [], alerts: [] }, 'no page errors or CSP violations');
  } finally {
    await browser.close();
    await new Promise<void>((r) => server.close(() => r()));
    await gw.stop();
  }
});
