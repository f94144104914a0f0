/**
 * Database users end to end: an admin creates a user through the dashboard's JSON API of a
 * real `spagate start` (API token from `spagate admin token create`), the LAN client knocks
 * with Debian's real `fwknop` client and the stanza the API returned, and gets through the
 * default-drop gateway; after the admin disables the user, its grant is gone and the same
 * stanza is refused. Three throw-away namespaces; traffic stays inside them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, DaemonRun } from '../helpers/daemon.js';
import { isRoot } from '../helpers/netns.js';
import { randomKeys } from '../helpers/spa-client.js';
import { buildTopology, connectFrom, startListener, type Topology } from '../helpers/topology.js';

const HTTP_TOOLS = fileURLToPath(new URL('../helpers/http-tools.mjs', import.meta.url));
const WAN_PORT = 8022;
const DASH_PORT = 18433;
const skip = isRoot() ? false : 'NOT ROOT: privileged users end-to-end test skipped';
if (skip) console.warn(`*** ${skip}`);

interface HttpResult {
  status?: number;
  body?: string;
  error?: string;
}

describe('database users with the real fwknop client', { skip, timeout: 120_000 }, () => {
  let t: Topology;
  let d: DaemonRun | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'spagate-users-e2e-'));
  before(async () => {
    t = buildTopology();
    await startListener(t, t.wan, WAN_PORT);
  });
  after(async () => {
    await d?.stop('SIGKILL');
    d?.cleanup();
    await t.ns.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a user created through the API knocks with fwknop and gets online; once disabled it is refused', async () => {
    // access.conf holds a stanza for another network only: the LAN client can match nothing but the user.
    const other = randomKeys();
    d = new DaemonRun(t.ns, t.gw, {
      fwknopdConf:
        [`PCAP_INTF ${t.gwLanIf}`, 'ENABLE_IPT_FORWARDING Y', 'ENABLE_IPT_SNAT Y', `SNAT_TRANSLATE_IP ${t.addr.gwWan}`, 'FIREWALL_BACKEND iptables', `DASHBOARD_LISTEN 127.0.0.1:${DASH_PORT}`].join('\n') + '\n',
      accessConf: `SOURCE 192.0.2.0/24\nKEY_BASE64 ${other.key}\nHMAC_KEY_BASE64 ${other.hmac}\nFORWARD_ALL Y\nDISABLE_DNAT Y\nREQUIRE_SOURCE_ADDRESS Y\n`,
    });
    await d.start();
    await d.waitFor((l) => l.msg === 'dashboard listening');
    const token = t.ns.exec(t.gw, process.execPath, [CLI, 'admin', 'token', 'create', '--label', 'users-e2e', '--data-dir', d.dataDir]).trim().split('\n').pop() ?? '';
    const api = (path: string, body: unknown): HttpResult => {
      const r = t.ns.try(t.gw, process.execPath, [HTTP_TOOLS, 'post-json', `http://127.0.0.1:${DASH_PORT}${path}`, JSON.stringify(body), token]);
      return JSON.parse(r.stdout.trim() || '{}') as HttpResult;
    };

    const created = api('/api/users', { name: 'laptop', source: '10.77.1.0/24', options: { FORWARD_ALL: 'Y', DISABLE_DNAT: 'Y', FW_ACCESS_TIMEOUT: 600 } });
    assert.equal(created.status, 201, JSON.stringify(created));
    const { fwknoprc } = JSON.parse(created.body ?? '{}') as { fwknoprc: string };
    assert.match(fwknoprc, /^\[laptop\]/);
    const rc = join(dir, 'fwknoprc');
    writeFileSync(rc, fwknoprc);
    chmodSync(rc, 0o600);
    const knock = (): void => {
      // The dashboard listens on loopback here, so the stanza names no server: pass it with -D.
      t.ns.exec(t.lan, '/usr/bin/fwknop', ['--rc-file', rc, '-n', 'laptop', '--no-save-args', '-D', t.addr.gwLan]);
    };

    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null, 'blocked before SPA');
    knock();
    const granted = await d.waitFor((l) => l.msg === 'grant installed', 10_000);
    assert.equal(granted.stanza, 'user:laptop');
    assert.equal(granted.user, 'laptop', 'the stanza makes fwknop send the user name');
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), t.addr.gwWan, 'online: the WAN host sees the SNAT address');

    const disabled = api('/api/users/laptop/disable', {});
    assert.equal(disabled.status, 200, JSON.stringify(disabled));
    assert.equal((JSON.parse(disabled.body ?? '{}') as { user: { status: string } }).user.status, 'disabled');
    await d.waitFor((l) => l.msg === 'grant revoked', 5000);
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null, 'blocked again once the user is disabled');
    const rules = t.ns.exec(t.gw, '/usr/sbin/iptables-save', []).split('\n').filter((l) => l.includes('spagate:') && l.includes(t.addr.client));
    assert.deepEqual(rules, [], 'no rule of the grant is left');

    const grantsBefore = d.count((l) => l.msg === 'grant installed');
    knock();
    const refused = await d.waitFor((l) => l.msg === 'SPA packet rejected' && l.src === t.addr.client, 5000);
    assert.equal(refused.reason, 'no_stanza_for_source');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(d.count((l) => l.msg === 'grant installed'), grantsBefore, 'no new grant for a disabled user');
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null);
  });
});
