import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Grant, GrantRules } from '../../src/core/model.js';
import { IP, Netns, requireRoot } from '../helpers/netns.js';
import { rules } from '../unit/rules/nftables-fixtures.js';
import { IPTABLES, NFT, nftFirewall, waitUntil } from './nftables-helpers.js';

const CLIENT = '10.73.1.2';
const GW_LAN = '10.73.1.1';
const GW_WAN = '10.73.2.1';
const WAN = '10.73.2.2';
const GW_INT = '10.73.3.1';
const INTERNAL = '10.73.3.2';

function grant(id: string, r: Partial<GrantRules>, ttlMs = 300_000): Grant {
  const now = Date.now();
  return { id, stanzaId: 's:1', user: 'u', rules: rules(r), grantedAt: now, expiresAt: now + ttlMs };
}

async function waitForLine(stream: NodeJS.ReadableStream, want: string, ms: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no "${want}" within ${ms} ms`)), ms);
    stream.on('data', (b: Buffer) => {
      buf += b.toString();
      if (buf.includes(want)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

test(
  'nftables grants pass a default-drop iptables gateway: forward-all with masquerade, MAC binding, kernel expiry and a ghost service',
  { timeout: 120_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const ns = new Netns();
    try {
      const client = ns.add('c');
      const gw = ns.add('g');
      const wan = ns.add('w');
      const internal = ns.add('i');
      const lan = ns.link(client, 'c0', `${CLIENT}/24`, gw, 'g0', `${GW_LAN}/24`);
      ns.link(gw, 'g1', `${GW_WAN}/24`, wan, 'w0', `${WAN}/24`);
      ns.link(gw, 'g2', `${GW_INT}/24`, internal, 'i0', `${INTERNAL}/24`);
      ns.exec(client, IP, ['route', 'add', 'default', 'via', GW_LAN]);
      ns.exec(internal, IP, ['route', 'add', 'default', 'via', GW_INT]);
      ns.exec(gw, '/usr/sbin/sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      // The gateway's policy is default-drop before spagate starts (iptables-nft: table ip filter).
      ns.exec(gw, IPTABLES, ['-P', 'FORWARD', 'DROP']);
      const clientMac = ns.exec(client, '/bin/cat', [`/sys/class/net/${lan.a}/address`]).trim();

      // The WAN host has no route back to the LAN: replies arrive only through masquerade.
      const server = ns.spawn(wan, process.execPath, [
        '-e',
        `require('node:net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen(8080, '${WAN}', () => console.log('ready'))`,
      ]);
      const ghost = ns.spawn(internal, process.execPath, [
        '-e',
        `require('node:net').createServer((s) => s.end('ghost ' + s.remoteAddress + '\\n')).listen(22, '${INTERNAL}', () => console.log('ready'))`,
      ]);
      await waitForLine(server.stdout!, 'ready', 10_000);
      await waitForLine(ghost.stdout!, 'ready', 10_000);
      const tcp = (from: string, host: string, port: number): { ok: boolean; said: string } => {
        const r = ns.try(from, '/usr/bin/timeout', [
          '2',
          '/bin/bash',
          '-c',
          `exec 3<>/dev/tcp/${host}/${port} && cat <&3`,
        ]);
        return { ok: r.status === 0, said: r.stdout.trim() };
      };
      const fromClient = (): { ok: boolean; said: string } => tcp(client, WAN, 8080);
      const masq = { src: CLIENT, forward: { all: true }, snat: { all: true, kind: 'MASQUERADE' } } as const;

      // Without the gate rule, an accept in spagate's table does not beat iptables' drop.
      const unhooked = nftFirewall(gw, { iptables: false });
      await unhooked.start({ flush: true });
      await unhooked.install([grant('nohook', masq)]);
      assert.equal(fromClient().ok, false, 'iptables FORWARD DROP still drops without the gate rule');
      await unhooked.stop({ flush: true });

      const fw = nftFirewall(gw);
      await fw.start({ flush: true });
      assert.equal(fromClient().ok, false, 'blocked before any grant');

      await fw.install([grant('g1', masq)]);
      assert.deepEqual(fromClient(), { ok: true, said: GW_WAN });
      const counted = (await fw.counters()).get('g1');
      assert.ok(
        counted && counted.packets >= 2 && counted.bytes >= 80,
        `counters moved: ${JSON.stringify(counted)}`,
      );

      // Re-knock: the same id with a later expiry keeps the counts (read back by key, written into the new element).
      await fw.install([grant('g1', masq, 600_000)]);
      const kept = (await fw.counters()).get('g1');
      assert.ok(
        kept && counted && kept.packets >= counted.packets && kept.bytes >= counted.bytes,
        `counters kept: ${JSON.stringify(kept)}`,
      );

      await fw.remove([grant('g1', masq)]);
      assert.equal(fromClient().ok, false, 'blocked again after remove');

      await fw.install([grant('g2', { ...masq, mac: '02:00:00:00:00:99' })]);
      assert.equal(fromClient().ok, false, 'a grant bound to another MAC refuses this client');
      await fw.install([grant('g2', { ...masq, mac: clientMac })]);
      assert.deepEqual(fromClient(), { ok: true, said: GW_WAN });
      await fw.remove([grant('g2', { ...masq, mac: clientMac })]);

      // Expiry with no daemon action: the firewall object is not called again.
      await fw.install([grant('short', masq, 3000)]);
      assert.equal(fromClient().ok, true, 'open while the grant lives');
      const expired = await waitUntil(
        () => !ns.exec(gw, NFT, ['list', 'table', 'ip', 'spagate']).includes(CLIENT),
        10_000,
      );
      assert.ok(expired, 'the kernel dropped the elements at their timeout');
      assert.equal(fromClient().ok, false, 'blocked after expiry');

      // Ghost service: the outside host's tcp/80 on the gateway reaches the internal tcp/22.
      assert.equal(tcp(wan, GW_WAN, 80).ok, false, 'no service on port 80 before the grant');
      await fw.install([
        grant('ghost', {
          src: WAN,
          forward: { all: false, proto: 'tcp', port: 22 },
          dnat: { all: false, proto: 'tcp', port: 80, toIp: INTERNAL, toPort: 22 },
        }),
      ]);
      assert.deepEqual(tcp(wan, GW_WAN, 80), { ok: true, said: `ghost ${WAN}` });
      assert.equal(tcp(client, GW_WAN, 80).ok, false, 'another source is not translated');

      await fw.stop({ flush: true });
      assert.equal(tcp(wan, GW_WAN, 80).ok, false, 'closed after stop with flush');
      assert.doesNotMatch(ns.exec(gw, IPTABLES, ['-S', 'FORWARD']), /spagate/);
    } finally {
      await ns.cleanup();
    }
  },
);
