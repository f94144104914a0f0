/**
 * The dashboard of a REAL `spagate start` (iptables backend, pcap capture) in the three
 * test namespaces, driven by headless Chromium that runs inside the gateway namespace (the
 * dashboard listens on its default 127.0.0.1:8080 there). A real fwknop packet from the LAN
 * client makes a host appear live; its countdown runs; revoking it from the table removes it
 * and cuts the client's open TCP connection through the gateway (conntrack flush). A packet
 * carrying `<img src=x onerror=alert(1)>` as its username is refused by fwknop's username
 * rules (spec 7.2) and runs no script; the most HTML-like username those rules allow shows
 * verbatim as text. Screenshots: test-output/screenshots/daemon-*.png.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cryptoRandom } from '../../src/adapters/system-clock.js';
import { innerDigest } from '../../src/core/spa/crypto.js';
import { encodeMessage, sealPlaintext } from '../../src/core/spa/encode.js';
import { CLI, DaemonRun } from '../helpers/daemon.js';
import { accessFields } from '../helpers/fixtures.js';
import { isRoot } from '../helpers/netns.js';
import { fwknopSend, randomKeys, type KnockKeys } from '../helpers/spa-client.js';
import { buildTopology, connectFrom, NET_TOOLS, type Topology } from '../helpers/topology.js';
import { chromiumAvailable, launchChromium, parseCountdown, shot, signIn, watchPage } from '../web/browser.js';

const ECHO_TOOLS = fileURLToPath(new URL('../helpers/echo-tools.mjs', import.meta.url));
const ECHO_PORT = 7007;
const DASHBOARD = 'http://127.0.0.1:8080';
const PASSWORD = 'a long test passphrase';
const XSS = '<img src=x onerror=alert(1)>';
/** Everything HTML-ish that fwknop's username rules let through: an innerHTML sink would turn `&lt` into `<` (fwknop's client cuts usernames at 31 characters). */
const HTMLISH = "&lt'img' onerror'alert(1)'&gt";

const skip = !isRoot() ? 'NOT ROOT: privileged dashboard test skipped' : !chromiumAvailable() ? 'CHROMIUM MISSING: /usr/bin/chromium not installed' : false;
if (skip) console.warn(`*** ${skip}`);

function run(file: string, args: string[], input?: string): string {
  return execFileSync(file, args, { input, timeout: 30_000, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A real SPA packet whose username breaks the field rules, sealed with the stanza's keys. */
function forbiddenUserPacket(keys: KnockKeys, user: string, dir: string): string {
  const encoded = encodeMessage(
    accessFields(Math.floor(Date.now() / 1000), {
      username: user,
      random_value: String(1_000_000_000_000_000 + Math.floor(Math.random() * 8e15)).slice(0, 16),
    }),
  );
  const packet = sealPlaintext(
    `${encoded}:${innerDigest('sha256', encoded)}`,
    { key: Buffer.from(keys.key, 'base64'), hmacKey: Buffer.from(keys.hmac, 'base64'), hmacType: 'sha256', mode: 'cbc' },
    cryptoRandom.bytes(8),
  );
  const file = join(dir, 'xss-packet.txt');
  writeFileSync(file, `${packet}\n`);
  return file;
}

/** Lines a long-running namespace process printed so far. */
function collect(child: ChildProcess): string[] {
  const lines: string[] = [];
  let buf = '';
  child.stdout?.on('data', (b: Buffer) => {
    buf += b.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return lines;
}

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  for (const end = Date.now() + ms; !ok(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('dashboard of a real spagate start in Chromium', { skip, timeout: 180_000 }, () => {
  let t: Topology;
  let d: DaemonRun | null = null;
  let tmp = '';
  before(async () => {
    t = buildTopology();
    tmp = mkdtempSync(join(tmpdir(), 'spagate-dash-'));
    const echo = t.ns.spawn(t.wan, process.execPath, [ECHO_TOOLS, 'serve', String(ECHO_PORT)]);
    const out = collect(echo);
    await until('the echo server', 10_000, () => out.includes('listening'));
  });
  after(async () => {
    await d?.stop('SIGKILL');
    d?.cleanup();
    await t.ns.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('log in, see a knock live, watch the countdown, revoke it and its open connection', async () => {
    const keys = randomKeys();
    d = new DaemonRun(t.ns, t.gw, {
      fwknopdConf: [`PCAP_INTF ${t.gwLanIf}`, 'ENABLE_IPT_FORWARDING Y', 'ENABLE_IPT_SNAT Y', `SNAT_TRANSLATE_IP ${t.addr.gwWan}`, 'FIREWALL_BACKEND iptables'].join('\n') + '\n',
      accessConf: `SOURCE ANY\nKEY_BASE64 ${keys.key}\nHMAC_KEY_BASE64 ${keys.hmac}\nFW_ACCESS_TIMEOUT 120\nFORWARD_ALL Y\nDISABLE_DNAT Y\n`,
    });
    run(process.execPath, [CLI, 'admin', 'set-password', '--data-dir', d.dataDir], `${PASSWORD}\n`);
    await d.start();
    await d.waitFor((l) => l.msg === 'dashboard listening' && l.url === DASHBOARD);

    // Chromium inside the gateway namespace, where 127.0.0.1:8080 is the daemon's.
    const launcher = join(tmp, 'chromium-in-gw');
    writeFileSync(launcher, `#!/bin/sh\nexec /usr/sbin/ip netns exec ${t.gw} /usr/bin/chromium "$@"\n`);
    chmodSync(launcher, 0o700);
    const browser = await launchChromium(launcher);
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 860 } });
      const problems = watchPage(page);
      await signIn(page, DASHBOARD, 'admin', PASSWORD, 'daemon-login');
      await page.waitForSelector('#live-status[data-state="on"]', { timeout: 10_000 });
      assert.equal(await page.locator('#hosts-body tr[data-id]').count(), 0);
      assert.equal(connectFrom(t, t.lan, t.addr.wan, ECHO_PORT, 700), null, 'blocked before SPA');

      // A real fwknop packet: the row appears without a reload.
      fwknopSend(t.ns, t.lan, t.addr.gwLan, keys, ['-U', HTMLISH]);
      const granted = await d.waitFor((l) => l.msg === 'grant installed', 10_000);
      const id = String(granted.grant);
      const row = page.locator(`#hosts-body tr[data-id="${id}"]`);
      await row.waitFor({ timeout: 10_000 });
      assert.equal(await row.locator('.c-ip').textContent(), t.addr.client);
      assert.equal(await row.locator('.c-user').textContent(), HTMLISH, 'the username shows verbatim, as text');

      // `spagate grants list` sees the same grant through the control socket.
      const listed = JSON.parse(run(process.execPath, [CLI, 'grants', 'list', '--json', '--data-dir', d.dataDir])) as { id: string; ip: string }[];
      assert.deepEqual(listed.map((g) => [g.id, g.ip]), [[id, t.addr.client]]);

      const first = parseCountdown((await row.locator('.countdown').textContent()) ?? '');
      await page.waitForTimeout(2300);
      const second = parseCountdown((await row.locator('.countdown').textContent()) ?? '');
      assert.ok(first > 100 && first <= 120, `countdown starts near 2m, got ${first}`);
      assert.ok(second <= first - 2 && second >= first - 4, `countdown runs: ${first} then ${second}`);

      // An open TCP connection from the client through the gateway to the WAN host.
      const hold = t.ns.spawn(t.lan, process.execPath, [ECHO_TOOLS, 'hold', t.addr.wan, String(ECHO_PORT), '60000']);
      const held = collect(hold);
      await until('echoes on the held connection', 10_000, () => held.filter((l) => l === 'echo').length >= 3);
      // Counters come from the grant's iptables rules.
      const counted = JSON.parse(run(process.execPath, [CLI, 'grants', 'list', '--json', '--data-dir', d.dataDir])) as { packets: number | null; bytes: number | null }[];
      assert.ok((counted[0]?.packets ?? 0) > 0 && (counted[0]?.bytes ?? 0) > 0, `firewall counters: ${JSON.stringify(counted)}`);
      await shot(page, 'daemon-hosts');

      await row.locator('form.js-revoke button').click();
      await row.waitFor({ state: 'detached', timeout: 10_000 });
      await d.waitFor((l) => l.msg === 'grant revoked' && l.grant === id, 10_000);
      const echoesAtRevoke = held.filter((l) => l === 'echo').length;
      await page.waitForTimeout(3000);
      const echoesLater = held.filter((l) => l === 'echo').length;
      // One echo may already have been in flight when the rules went.
      assert.ok(echoesLater <= echoesAtRevoke + 1, `the open connection is cut: ${echoesAtRevoke} echoes at revoke, ${echoesLater} 3 s later`);
      assert.equal(connectFrom(t, t.lan, t.addr.wan, ECHO_PORT, 700), null, 'new connections are blocked too');
      const left = run('/usr/sbin/ip', ['netns', 'exec', t.gw, '/usr/sbin/iptables-save']).split('\n').filter((l) => l.includes(`spagate:${id}`));
      assert.deepEqual(left, [], 'no rule of the grant is left');
      assert.match((await page.locator('#host-status').textContent()) ?? '', /revoked/i);
      hold.kill('SIGKILL');

      // The script-bearing username: refused by the username rules, and no script runs anywhere.
      const file = forbiddenUserPacket(keys, XSS, tmp);
      t.ns.exec(t.lan, process.execPath, [NET_TOOLS, 'udp-file', t.addr.gwLan, '62201', file]);
      await d.waitFor((l) => l.msg === 'SPA packet rejected' && l.reason === 'bad_field_username', 10_000);

      await page.goto(`${DASHBOARD}/`);
      await page.waitForSelector('#live-status[data-state="on"]', { timeout: 10_000 });
      assert.equal(await page.locator('#ov-live').textContent(), '0');
      await shot(page, 'daemon-overview');

      await page.goto(`${DASHBOARD}/events`);
      const events = (await page.locator('#events').textContent()) ?? '';
      assert.ok(events.includes(HTMLISH), 'the accepted packet with its username is listed');
      assert.ok(/revoked/i.test(events), 'the revoke is listed');
      assert.equal(await page.locator('#events img').count(), 0);
      await shot(page, 'daemon-events');

      assert.deepEqual(problems.alerts, [], 'no injected script ran');
      assert.deepEqual(problems.errors, [], 'no script errors or CSP violations');

      // A plain-text page: Chromium also asks for /favicon.ico there, hence after the error check.
      await page.goto(`${DASHBOARD}/metrics`);
      const metrics = (await page.locator('body').textContent()) ?? '';
      assert.match(metrics, /spagate_packets_total\{outcome="accepted",reason="granted"\} 1/);
      assert.match(metrics, /spagate_packets_total\{outcome="rejected",reason="bad_field_username"\} 1/);
    } finally {
      await browser.close();
    }
    await d.stop();
    d.cleanup();
    d = null;
  });
});
