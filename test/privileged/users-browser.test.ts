/**
 * The users pages in headless Chromium: create a user from the form, see its keys once as a
 * stanza, download the .fwknoprc file, and scan the QR code (screenshot decoded with jsQR) to
 * the keys Fwknop2 imports; then disable it. Screenshots go to test-output/screenshots/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { systemClock } from '../../src/adapters/system-clock.js';
import { requireRoot } from '../helpers/netns.js';
import { chromiumAvailable, launchChromium, shot, signIn, watchPage } from '../web/browser.js';
import { startUsersApp } from '../web/users-harness.js';

// jsqr is CommonJS with a default export; under tsx its shape differs from tsc's view.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

test('users page in Chromium creates a user, shows its keys once with a scannable QR code and a download, then disables it', { timeout: 120_000 }, async (t) => {
  if (!requireRoot(t)) return;
  if (!chromiumAvailable()) {
    t.skip('CHROMIUM MISSING: /usr/bin/chromium not installed, browser test skipped');
    console.warn('*** SKIPPED: /usr/bin/chromium not installed');
    return;
  }
  const h = await startUsersApp({ clock: systemClock });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const problems = watchPage(page);
    await signIn(page, h.url, 'admin', 'correct horse');
    await page.click('nav a[href="/users"]');
    await page.waitForURL(`${h.url}/users`);
    await page.fill('#new-user input[name=name]', 'amy');
    await page.click('#new-user button[type=submit]');
    await page.waitForSelector('#fwknoprc');
    await shot(page, 'users-keys');

    const stanza = await page.locator('#fwknoprc').innerText();
    const key = /^KEY_BASE64\s+(\S+)$/m.exec(stanza)?.[1];
    const hmac = /^HMAC_KEY_BASE64\s+(\S+)$/m.exec(stanza)?.[1];
    assert.ok(key && hmac, stanza);
    assert.match(stanza, /^\[amy\]\nSPA_SERVER\s+192\.168\.50\.1$/m);

    const png = PNG.sync.read(await page.locator('#qr svg').screenshot());
    const scanned = jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
    assert.equal(scanned, `KEY_BASE64:${key} HMAC_KEY_BASE64:${hmac}`, 'the QR code carries the keys of the stanza shown');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'amy.fwknoprc');
    assert.equal(readFileSync(await download.path(), 'utf8'), `${stanza}\n`.replace(/\n\n$/, '\n'));

    // Back on the list the keys are gone for good.
    await page.click('a[href="/users"] >> nth=-1');
    await page.waitForSelector('tr[data-user="amy"]');
    assert.ok(!(await page.content()).includes(key));
    await page.click('tr[data-user="amy"] form[action="/users/amy/disable"] button');
    await page.waitForSelector('tr[data-user="amy"] form[action="/users/amy/enable"]');
    assert.match(await page.locator('.flash').innerText(), /User amy disabled/);
    await shot(page, 'users-list');
    assert.equal(h.stanzas().length, 0, 'the gateway no longer has the user stanza');
    assert.deepEqual(problems.errors, []);
    assert.deepEqual(problems.alerts, []);
  } finally {
    await browser.close();
    await h.close();
  }
});
