import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConntrackFlusher } from '../../src/adapters/conntrack.js';
import { IptablesFirewall } from '../../src/adapters/iptables.js';
import type { Grant, GrantRules } from '../../src/core/model.js';
import { IP, Netns, requireRoot } from '../helpers/netns.js';
import { ALL_CHAINS, rules } from '../unit/rules/iptables-fixtures.js';
import { CONNTRACK, IPTABLES, NetnsRunner, silentLogger } from './iptables-helpers.js';

const CLIENT = '10.71.1.2';
const GW_WAN = '10.71.2.1';
const WAN = '10.71.2.2';

function grant(id: string, r: Partial<GrantRules>): Grant {
  return { id, stanzaId: 's:1', user: 'u', rules: rules(r), grantedAt: 0, expiresAt: 1_900_000_000_000 };
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
  'forward-all SNAT grant lets a LAN client through a default-drop gateway only while installed and only from its MAC',
  { timeout: 90_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const ns = new Netns();
    try {
      const client = ns.add('c');
      const gw = ns.add('g');
      const wan = ns.add('w');
      const lan = ns.link(client, 'c0', `${CLIENT}/24`, gw, 'g0', '10.71.1.1/24');
      ns.link(gw, 'g1', `${GW_WAN}/24`, wan, 'w0', `${WAN}/24`);
      ns.exec(client, IP, ['route', 'add', 'default', 'via', '10.71.1.1']);
      ns.exec(gw, '/usr/sbin/sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      ns.exec(gw, IPTABLES, ['-P', 'FORWARD', 'DROP']);
      const clientMac = ns.exec(client, '/bin/cat', [`/sys/class/net/${lan.a}/address`]).trim();

      // The WAN host has no route back to the LAN: replies arrive only through SNAT.
      const server = ns.spawn(wan, process.execPath, [
        '-e',
        `require('node:net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen(8080, '${WAN}', () => console.log('ready'))`,
      ]);
      await waitForLine(server.stdout!, 'ready', 10_000);
      const connect = (): { ok: boolean; seenAs: string } => {
        const r = ns.try(client, '/usr/bin/timeout', [
          '2',
          '/bin/bash',
          '-c',
          `exec 3<>/dev/tcp/${WAN}/8080 && cat <&3`,
        ]);
        return { ok: r.status === 0, seenAs: r.stdout.trim() };
      };

      const runner = new NetnsRunner(gw);
      const fw = new IptablesFirewall({
        chains: ALL_CHAINS,
        iptables: IPTABLES,
        runner,
        logger: silentLogger,
        rulePrepend: false,
        conntrackAccept: true,
      });
      const flusher = new ConntrackFlusher({ conntrack: CONNTRACK, runner, logger: silentLogger });
      await fw.start({ flush: true });

      assert.equal(connect().ok, false, 'blocked before any grant');

      const g = grant('gw1', {
        src: CLIENT,
        forward: { all: true },
        snat: { all: true, kind: 'SNAT', toSource: GW_WAN },
      });
      await fw.install([g]);
      assert.deepEqual((await fw.counters()).get('gw1'), { packets: 0, bytes: 0 });
      assert.deepEqual(connect(), { ok: true, seenAs: GW_WAN });
      // The first packet of the flow hits the FORWARD accept and the SNAT rule; the rest ride conntrack.
      const counted = (await fw.counters()).get('gw1')!;
      assert.ok(counted.packets >= 2 && counted.bytes >= 80, `counters moved: ${JSON.stringify(counted)}`);

      assert.ok((await flusher.flushSource(CLIENT)) >= 1, 'the finished connection left a conntrack entry');
      assert.equal(await flusher.flushSource(CLIENT), 0);

      await fw.remove([g]);
      assert.equal(connect().ok, false, 'blocked again after remove');

      await fw.install([grant('gw2', { ...g.rules, mac: '02:00:00:00:00:99' })]);
      assert.equal(connect().ok, false, 'a grant bound to another MAC does not let this one through');
      await fw.install([grant('gw2', { ...g.rules, mac: clientMac })]);
      assert.deepEqual(connect(), { ok: true, seenAs: GW_WAN });

      await fw.stop({ flush: true });
      assert.equal(connect().ok, false);
    } finally {
      await ns.cleanup();
    }
  },
);
