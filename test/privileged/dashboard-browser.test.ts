/**
 * The dashboard in real headless Chromium, over the in-memory gateway: sign in, watch a
 * host appear live, its countdown run, revoke it from the table, see an XSS username stay
 * text. Screenshots of every page go to test-output/screenshots/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/adapters/system-clock.js';
import { requireRoot } from '../helpers/netns.js';
import {
  chromiumAvailable,
  launchChromium,
  parseCountdown,
  shot,
  signIn,
  watchPage,
} from '../web/browser.js';
import { makeGrant, startApp } from '../web/harness.js';

const XSS = '<img src=x onerror=alert(1)>';

test(
  'dashboard in Chromium shows a host live, counts down, revokes it, and escapes usernames',
  { timeout: 120_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    if (!chromiumAvailable()) {
      t.skip('CHROMIUM MISSING: /usr/bin/chromium not installed, browser test skipped');
      console.warn('*** SKIPPED: /usr/bin/chromium not installed');
      return;
    }
    const h = await startApp({ clock: systemClock });
    const browser = await launchChromium();
    try {
      const now = Date.now();
      const ev = (i: number, outcome: 'accepted' | 'rejected', reason: string, user: string | null) => ({
        at: now - i * 37_000,
        outcome,
        reason,
        srcIp: `192.168.10.${20 + (i % 7)}`,
        srcPort: 40_000 + i * 13,
        mac: `02:00:5e:00:53:${(10 + i).toString(16)}`,
        user,
        stanzaId: outcome === 'accepted' ? 'staff' : null,
        grantId: null,
        detail: reason === 'stale_timestamp' ? 'packet 312 s old' : null,
      });
      await h.store.addEvents([
        ev(9, 'accepted', 'granted', 'alice'),
        ev(8, 'rejected', 'hmac_mismatch', null),
        ev(7, 'rejected', 'replay', 'alice'),
        ev(6, 'accepted', 'granted', 'bob'),
        ev(5, 'rejected', 'stale_timestamp', 'carol'),
        ev(4, 'rejected', 'no_stanza_for_source', 'mallory'),
        ev(3, 'rejected', 'hmac_mismatch', null),
        ev(2, 'accepted', 'granted', XSS),
      ]);
      const steady = makeGrant(now, {
        ip: '192.168.10.21',
        mac: '02:00:5e:00:53:21',
        user: 'bob',
        stanzaId: 'staff',
        expiresAt: now + 3 * 3600_000 + 125_000,
      });
      h.control.grant(steady, 'bob-thinkpad');
      h.control.setCounters(steady.id, { packets: 48_213, bytes: 61_234_567 });

      const page = await browser.newPage({ viewport: { width: 1440, height: 860 } });
      const problems = watchPage(page);
      await signIn(page, h.url, 'admin', 'correct horse', 'login');

      await page.waitForSelector('#live-status[data-state="on"]', { timeout: 10_000 });
      const live = makeGrant(Date.now(), {
        ip: '192.168.10.27',
        mac: '02:00:5e:00:53:27',
        user: XSS,
        stanzaId: 'guests',
        expiresAt: Date.now() + 125_000,
      });
      live.rules.forward = null;
      live.rules.dnat = { all: false, proto: 'tcp', port: 2222, toIp: '10.0.0.5', toPort: 22 };
      h.control.grant(live, 'guest-phone');
      const row = page.locator(`#hosts-body tr[data-id="${live.id}"]`);
      await row.waitFor({ timeout: 10_000 });
      assert.equal(await row.locator('.c-user').textContent(), XSS);
      assert.equal(await page.locator('#hosts img').count(), 0, 'the username was not parsed as HTML');
      assert.equal(await page.locator('#host-count').textContent(), '2');

      const first = parseCountdown((await row.locator('.countdown').textContent()) ?? '');
      await page.waitForTimeout(2200);
      const second = parseCountdown((await row.locator('.countdown').textContent()) ?? '');
      assert.ok(first > 100 && first <= 125, `countdown starts near 2m05s, got ${first}`);
      assert.ok(second <= first - 2 && second >= first - 4, `countdown runs: ${first} then ${second}`);
      await page.waitForTimeout(1200);
      await shot(page, 'hosts');

      await row.locator('form.js-revoke button').click();
      await row.waitFor({ state: 'detached', timeout: 10_000 });
      assert.deepEqual(h.control.actions, [{ action: 'revoke', id: live.id, by: 'admin' }]);
      assert.deepEqual(
        (await h.control.listGrants()).map((l) => l.grant.id),
        [steady.id],
      );
      assert.match((await page.locator('#host-status').textContent()) ?? '', /Revoked 192\.168\.10\.27/);

      // The sweeper's expiry removes a row live as well.
      h.control.expire(steady.id);
      await page
        .locator(`#hosts-body tr[data-id="${steady.id}"]`)
        .waitFor({ state: 'detached', timeout: 10_000 });
      assert.equal(await page.locator('#hosts-empty').isVisible(), true);

      h.control.grant(steady, 'bob-thinkpad');
      await page.goto(`${h.url}/`);
      await page.waitForSelector('#live-status[data-state="on"]', { timeout: 10_000 });
      assert.equal(await page.locator('#ov-live').textContent(), '1');
      h.control.grant(makeGrant(Date.now(), { ip: '192.168.10.30', user: 'dave' }));
      // Polled from outside: the page's CSP rightly forbids the string eval waitForFunction would use.
      for (let i = 0; i < 100 && (await page.locator('#ov-live').textContent()) !== '2'; i++)
        await page.waitForTimeout(100);
      assert.equal(await page.locator('#ov-live').textContent(), '2');
      await shot(page, 'overview');

      await page.goto(`${h.url}/events`);
      assert.equal(await page.locator('#events img').count(), 0);
      assert.ok(((await page.locator('#events').textContent()) ?? '').includes(XSS));
      await shot(page, 'events');

      assert.deepEqual(problems.alerts, [], 'no injected script ran');
      assert.deepEqual(problems.errors, [], 'no script errors or CSP violations');
    } finally {
      await browser.close();
      await h.close();
    }
  },
);
