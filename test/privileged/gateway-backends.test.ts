/**
 * Issue 4 end to end, on both firewall backends: the real `spagate start` in a gateway
 * namespace whose iptables FORWARD policy is DROP before spagate starts, the real fwknop client
 * (Debian's) for every knock, and four namespaces (LAN client, gateway, WAN host, internal host).
 *
 *   lan 10.77.1.2 --- 10.77.1.1 gw 203.0.113.1 --- 203.0.113.2 (+ .3, "another client") wan
 *                               10.77.2.1      --- 10.77.2.2 int
 *
 * Scenarios: FORWARD_ALL with SNAT (counters, re-knock extension keeping them) and with
 * MASQUERADE, restart recovery after kill -9 (a live grant kept, an expired one ended, a lost
 * one put back), plain INPUT access, DNAT to the internal host, the ghost service (80 to 22),
 * FORCE_NAT, local NAT, expiry in every test, and kill -9 with a live grant (nftables: the
 * kernel ends it on time). Every check is real traffic plus what the kernel holds. Each test
 * runs its own daemon with its own data directory; afterEach wipes spagate's firewall state
 * and policies. */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonRun, type LogLine } from '../helpers/daemon.js';
import {
  BACKENDS,
  dropGrantFromKernel,
  gatewayFirewall,
  ownedEntries,
  ownedGrantIds,
  type Backend,
  type OwnedEntry,
} from '../helpers/firewall-view.js';
import { isRoot } from '../helpers/netns.js';
import { fwknopSend, randomKeys, type KnockKeys } from '../helpers/spa-client.js';
import { startTcpListener, tcpFrom } from '../helpers/tcp.js';
import { buildTopology, type Topology } from '../helpers/topology.js';

const skip = isRoot() ? false : 'NOT ROOT: privileged end-to-end tests skipped';
if (skip) console.warn(`*** ${skip}`);

/** Answers with the peer address only (the SNAT checks read it). */
const WAN_PORT = 8022;
/** On the gateway itself: "gw-ssh <peer>". */
const GW_SSH = 22;
/** Another service on the gateway: "gw-alt <peer>". */
const GW_ALT = 2200;
/** On the internal host: "int-ssh <peer>" and "int-web <peer>". */
const INT_SSH = 22;
const INT_WEB = 8080;
/** A second source address on the WAN host: "another client". */
const WAN_OTHER = '203.0.113.3';

interface ConfOptions {
  /** Capture interface. */
  intf: string;
  /** Extra fwknopd.conf lines. */
  server?: string[];
  /** Extra access.conf lines for the one stanza. */
  stanza?: string[];
  /** FW_ACCESS_TIMEOUT, seconds. */
  timeout: number;
  /** More stanzas after the first, each with its own keys (so one client can hold several grants). */
  more?: { keys: KnockKeys; timeout: number; lines?: string[] }[];
}

function stanzaText(keys: KnockKeys, timeout: number, lines: string[]): string {
  return (
    [
      'SOURCE ANY',
      `KEY_BASE64 ${keys.key}`,
      `HMAC_KEY_BASE64 ${keys.hmac}`,
      `FW_ACCESS_TIMEOUT ${timeout}`,
      ...lines,
    ].join('\n') + '\n'
  );
}

function files(
  backend: Backend,
  keys: KnockKeys,
  o: ConfOptions,
): { fwknopdConf: string; accessConf: string } {
  return {
    fwknopdConf:
      [
        `PCAP_INTF ${o.intf}`,
        `FIREWALL_BACKEND ${backend}`,
        'DASHBOARD_LISTEN off',
        ...(o.server ?? []),
      ].join('\n') + '\n',
    accessConf: [
      stanzaText(keys, o.timeout, o.stanza ?? []),
      ...(o.more ?? []).map((m) => stanzaText(m.keys, m.timeout, m.lines ?? [])),
    ].join('\n'),
  };
}

/** Entries with their expiry stamps blanked, sorted: equal before and after a re-knock when nothing was duplicated. */
function shape(entries: readonly OwnedEntry[]): string[] {
  return entries.map((e) => `${e.grant} ${e.text.replace(/_exp_\d+/, '_exp_N')}`).sort();
}

/** nftables set names of the entries (sorted), e.g. ['fwd_all_m', 'snat_all']. */
function sets(entries: readonly OwnedEntry[]): string[] {
  return entries.map((e) => e.text.split(' ')[0]).sort();
}

function expiresAt(l: LogLine): number {
  return Date.parse(String(l.expiresAt));
}

async function sleepUntil(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

for (const backend of BACKENDS) {
  describe(`gateway scenarios on the ${backend} backend`, { skip, timeout: 240_000 }, () => {
    let t: Topology;
    let d: DaemonRun | null = null;
    const tcp = (from: string, host: string, port: number, local?: string): string | null =>
      tcpFrom(t.ns, from, host, port, { local });
    const entries = (): OwnedEntry[] => ownedEntries(t.ns, t.gw, backend);
    const grantIds = (): string[] => ownedGrantIds(t.ns, t.gw, backend);
    const daemon = (keys: KnockKeys, o: ConfOptions): DaemonRun =>
      (d = new DaemonRun(t.ns, t.gw, files(backend, keys, o)));
    const lanConf = (timeout: number, server: string[], stanza: string[]): ConfOptions => ({
      intf: t.gwLanIf,
      timeout,
      server,
      stanza,
    });
    const wanConf = (timeout: number, server: string[], stanza: string[] = []): ConfOptions => ({
      intf: t.gwWanIf,
      timeout,
      server,
      stanza,
    });
    const gwInputDrop = (): string => t.ns.exec(t.gw, '/usr/sbin/iptables', ['-P', 'INPUT', 'DROP']);

    before(async () => {
      t = buildTopology({ internal: true, forwardPolicy: 'DROP' });
      const wanIf = t.ns
        .exec(t.wan, '/usr/sbin/ip', ['-o', '-4', 'addr', 'show'])
        .split('\n')
        .find((l) => l.includes(t.addr.wan))
        ?.split(/\s+/)[1];
      assert.ok(wanIf, 'the WAN host has its address');
      t.ns.exec(t.wan, '/usr/sbin/ip', ['addr', 'add', `${WAN_OTHER}/24`, 'dev', wanIf]);
      assert.match(
        t.ns.exec(t.gw, '/usr/sbin/iptables', ['-S', 'FORWARD']),
        /^-P FORWARD DROP$/m,
        'the gateway forwards nothing by default',
      );
      await startTcpListener(t.ns, t.wan, WAN_PORT);
      await startTcpListener(t.ns, t.gw, GW_SSH, 'gw-ssh');
      await startTcpListener(t.ns, t.gw, GW_ALT, 'gw-alt');
      await startTcpListener(t.ns, t.int!, INT_SSH, 'int-ssh');
      await startTcpListener(t.ns, t.int!, INT_WEB, 'int-web');
    });

    afterEach(async () => {
      await d?.stop('SIGKILL');
      d?.cleanup();
      d = null;
      // Nothing of one scenario may open anything in the next: owned chains/table, gate rules,
      // conntrack entries and the INPUT policy go back to the starting point.
      await gatewayFirewall(t.gw, backend).stop({ flush: true });
      t.ns.exec(t.gw, '/usr/sbin/iptables', ['-P', 'INPUT', 'ACCEPT']);
      t.ns.try(t.gw, '/usr/sbin/conntrack', ['-F']);
    });

    after(async () => {
      await d?.stop('SIGKILL');
      d?.cleanup();
      await t.ns.cleanup();
    });

    test(
      'FORWARD_ALL with SNAT opens the Internet as the SNAT address, counts traffic, extends on a re-knock and expires',
      { timeout: 40_000 },
      async () => {
        const keys = randomKeys();
        const run = daemon(
          keys,
          lanConf(
            4,
            ['ENABLE_IPT_FORWARDING Y', 'ENABLE_IPT_SNAT Y', `SNAT_TRANSLATE_IP ${t.addr.gwWan}`],
            ['FORWARD_ALL Y', 'DISABLE_DNAT Y'],
          ),
        );
        await run.start();
        assert.equal(tcp(t.lan, t.addr.wan, WAN_PORT), null, 'blocked before SPA');

        fwknopSend(t.ns, t.lan, t.addr.gwLan, keys);
        const g = await run.waitFor((l) => l.msg === 'grant installed');
        assert.equal(tcp(t.lan, t.addr.wan, WAN_PORT), t.addr.gwWan, 'the WAN host sees the SNAT address');
        const opened = entries();
        assert.deepEqual(grantIds(), [g.grant]);
        if (backend === 'iptables') {
          assert.equal(opened.length, 2, opened.map((e) => e.text).join('\n'));
          assert.ok(
            opened.some((e) => e.text.startsWith('-A FWKNOP_FORWARD') && e.text.includes('--mac-source')),
          );
          assert.ok(
            opened.some(
              (e) =>
                e.text.startsWith('-A FWKNOP_POSTROUTING') && e.text.includes(`--to-source ${t.addr.gwWan}`),
            ),
          );
        } else {
          assert.deepEqual(sets(opened), ['fwd_all_m', 'snat_all']);
          assert.ok(opened.some((e) => e.text === `snat_all ${t.addr.client} : ${t.addr.gwWan}`));
        }
        assert.ok(!opened.some((e) => /PREROUTING|dnat/.test(e.text)), 'DISABLE_DNAT: no DNAT');

        const counted = (await gatewayFirewall(t.gw, backend).counters()).get(String(g.grant));
        assert.ok(
          counted && counted.packets > 0 && counted.bytes > 0,
          `counters moved: ${JSON.stringify(counted)}`,
        );

        fwknopSend(t.ns, t.lan, t.addr.gwLan, keys);
        const ext = await run.waitFor((l) => l.msg === 'grant extended');
        assert.equal(ext.grant, g.grant, 'the same grant is extended');
        assert.ok(expiresAt(ext) > expiresAt(g), 'the expiry moved later');
        assert.deepEqual(shape(entries()), shape(opened), 'no duplicate and nothing else after the re-knock');
        const kept = (await gatewayFirewall(t.gw, backend).counters()).get(String(g.grant));
        assert.ok(
          kept && kept.packets >= counted.packets && kept.bytes >= counted.bytes,
          `counts kept over the re-knock: ${JSON.stringify({ counted, kept })}`,
        );
        assert.equal(tcp(t.lan, t.addr.wan, WAN_PORT), t.addr.gwWan);

        await run.waitFor((l) => l.msg === 'expired grants removed', 10_000);
        assert.ok(Date.now() >= expiresAt(ext), 'removed at the extended expiry, not the first one');
        assert.equal(tcp(t.lan, t.addr.wan, WAN_PORT), null, 'blocked after expiry');
        assert.deepEqual(entries(), [], 'nothing of the grant is left');
      },
    );

    test(
      'FORWARD_ALL with MASQUERADE opens the Internet behind the outgoing interface address, then expires',
      { timeout: 30_000 },
      async () => {
        const keys = randomKeys();
        const run = daemon(
          keys,
          lanConf(3, ['ENABLE_IPT_FORWARDING Y', 'ENABLE_IPT_SNAT Y'], ['FORWARD_ALL Y', 'DISABLE_DNAT Y']),
        );
        await run.start();
        assert.equal(tcp(t.lan, t.addr.wan, WAN_PORT), null, 'blocked before SPA');
        fwknopSend(t.ns, t.lan, t.addr.gwLan, keys);
        const g = await run.waitFor((l) => l.msg === 'grant installed');
        assert.equal(tcp(t.lan, t.addr.wan, WAN_PORT), t.addr.gwWan, 'masqueraded behind the WAN address');
        const opened = entries();
        if (backend === 'iptables') {
          assert.equal(opened.length, 2, opened.map((e) => e.text).join('\n'));
          assert.ok(
            opened.some((e) => e.text.startsWith('-A FWKNOP_MASQUERADE') && e.text.endsWith('-j MASQUERADE')),
            opened.map((e) => e.text).join('\n'),
          );
        } else assert.deepEqual(sets(opened), ['fwd_all_m', 'masq_all']);

        await run.waitFor((l) => l.msg === 'expired grants removed', 10_000);
        const late = Date.now() - expiresAt(g);
        assert.ok(late >= 0 && late < 2500, `removed on time (${late} ms after the expiry)`);
        assert.equal(tcp(t.lan, t.addr.wan, WAN_PORT), null, 'blocked after expiry');
        assert.deepEqual(entries(), []);
      },
    );

    test(
      'after kill -9 and a restart, a live grant still works, one that expired meanwhile is ended, and one missing from the kernel is put back',
      { timeout: 45_000 },
      async () => {
        const fwdKeys = randomKeys();
        const shortKeys = randomKeys();
        const lostKeys = randomKeys();
        gwInputDrop();
        const run = daemon(fwdKeys, {
          ...lanConf(
            20,
            ['ENABLE_IPT_FORWARDING Y', 'ENABLE_IPT_SNAT Y'],
            ['FORWARD_ALL Y', 'DISABLE_DNAT Y'],
          ),
          more: [
            { keys: shortKeys, timeout: 3 },
            { keys: lostKeys, timeout: 20 },
          ],
        });
        await run.start();
        fwknopSend(t.ns, t.lan, t.addr.gwLan, fwdKeys);
        const live = await run.waitFor((l) => l.msg === 'grant installed');
        fwknopSend(t.ns, t.lan, t.addr.gwLan, shortKeys, ['-A', `tcp/${GW_SSH}`]);
        const short = await run.waitFor((l) => l.msg === 'grant installed' && l.grant !== live.grant);
        fwknopSend(t.ns, t.lan, t.addr.gwLan, lostKeys, ['-A', `tcp/${GW_ALT}`]);
        const lost = await run.waitFor(
          (l) => l.msg === 'grant installed' && l.grant !== live.grant && l.grant !== short.grant,
        );
        assert.equal(tcp(t.lan, t.addr.wan, WAN_PORT), t.addr.gwWan);
        assert.equal(tcp(t.lan, t.addr.gwLan, GW_SSH), `gw-ssh ${t.addr.client}`);
        assert.equal(tcp(t.lan, t.addr.gwLan, GW_ALT), `gw-alt ${t.addr.client}`);
        const liveShape = shape(entries().filter((e) => e.grant === live.grant));
        const lostShape = shape(entries().filter((e) => e.grant === lost.grant));

        await run.stop('SIGKILL');
        assert.ok(
          dropGrantFromKernel(t.ns, t.gw, backend, String(lost.grant)) > 0,
          'took the grant out of the kernel',
        );
        assert.equal(tcp(t.lan, t.addr.gwLan, GW_ALT), null, 'the dropped grant no longer opens anything');
        assert.ok(
          dropGrantFromKernel(t.ns, t.gw, backend, String(live.grant), true) > 0,
          'took only the live grant\'s SNAT out of the kernel',
        );
        assert.ok(grantIds().includes(String(live.grant)), 'the half-removed grant still shows in a listing');
        await sleepUntil(expiresAt(short) + 300);
        assert.notEqual(tcp(t.lan, t.addr.wan, WAN_PORT), t.addr.gwWan, 'no SNAT while its rule is gone');

        await run.start();
        const rec = await run.waitFor((l) => l.msg === 'firewall reconciled');
        assert.equal(rec.expired, 1, 'the grant that expired while the daemon was down is ended');
        assert.equal(rec.restored, 2, 'every live grant is installed again at start: the missing one and the half-removed one');
        assert.deepEqual(grantIds(), [String(live.grant), String(lost.grant)].sort());
        assert.deepEqual(
          shape(entries().filter((e) => e.grant === live.grant)),
          liveShape,
          'the live grant whole again (its SNAT back), no duplicate',
        );
        assert.deepEqual(
          shape(entries().filter((e) => e.grant === lost.grant)),
          lostShape,
          'the lost grant put back as it was',
        );
        assert.equal(
          tcp(t.lan, t.addr.wan, WAN_PORT),
          t.addr.gwWan,
          'the live grant works after the restart',
        );
        assert.equal(tcp(t.lan, t.addr.gwLan, GW_ALT), `gw-alt ${t.addr.client}`, 'the restored grant works');
        assert.equal(tcp(t.lan, t.addr.gwLan, GW_SSH), null, 'the expired grant stays closed');
      },
    );

    test(
      'plain access opens a service on the gateway itself for the knocking client only',
      { timeout: 40_000 },
      async () => {
        const keys = randomKeys();
        gwInputDrop();
        const run = daemon(keys, lanConf(4, [], []));
        await run.start();
        assert.equal(tcp(t.lan, t.addr.gwLan, GW_SSH), null, 'blocked by the INPUT policy before SPA');

        fwknopSend(t.ns, t.lan, t.addr.gwLan, keys, ['-A', `tcp/${GW_SSH}`]);
        const g = await run.waitFor((l) => l.msg === 'grant installed');
        assert.equal(g.mode, 'access');
        assert.equal(tcp(t.lan, t.addr.gwLan, GW_SSH), `gw-ssh ${t.addr.client}`);
        assert.equal(tcp(t.wan, t.addr.gwWan, GW_SSH), null, 'another host is still blocked');
        const opened = entries();
        if (backend === 'iptables') {
          assert.equal(opened.length, 1);
          assert.match(
            opened[0].text,
            new RegExp(`^-A FWKNOP_INPUT -s ${t.addr.client}/32 .*-p tcp .*--dport ${GW_SSH} .*--mac-source`),
          );
        } else {
          assert.deepEqual(sets(opened), ['in4_m']);
          assert.match(
            opened[0].text,
            new RegExp(`^in4_m ${t.addr.client} \\. [0-9a-f:]{17} \\. 6 \\. ${GW_SSH}$`),
          );
        }
        const counted = (await gatewayFirewall(t.gw, backend).counters()).get(String(g.grant));
        assert.ok(
          counted && counted.packets > 0 && counted.bytes > 0,
          `counters moved: ${JSON.stringify(counted)}`,
        );

        await run.waitFor((l) => l.msg === 'expired grants removed', 10_000);
        assert.equal(tcp(t.lan, t.addr.gwLan, GW_SSH), null, 'blocked after expiry');
        assert.deepEqual(entries(), []);
      },
    );

    test(
      'DNAT sends an outside client to the internal host, with per-flow SNAT, on a client-timeout NAT request',
      { timeout: 40_000 },
      async () => {
        const keys = randomKeys();
        const run = daemon(
          keys,
          wanConf(30, ['ENABLE_IPT_FORWARDING Y', 'ENABLE_IPT_SNAT Y', `SNAT_TRANSLATE_IP ${t.addr.gwInt}`]),
        );
        await run.start();
        assert.equal(tcp(t.wan, t.addr.gwWan, INT_WEB), null, 'nothing on the gateway port before SPA');

        // -f 4: message type 4 (client timeout NAT access), so the grant lasts 4 s, not 30.
        fwknopSend(t.ns, t.wan, t.addr.gwWan, keys, [
          '-A',
          `tcp/${INT_WEB}`,
          '-N',
          `${t.addr.int}:${INT_WEB}`,
          '-f',
          '4',
        ]);
        const g = await run.waitFor((l) => l.msg === 'grant installed');
        assert.equal(g.mode, 'nat');
        assert.ok(expiresAt(g) - Date.now() < 5000, 'the client timeout applies');
        assert.equal(
          tcp(t.wan, t.addr.gwWan, INT_WEB),
          `int-web ${t.addr.gwInt}`,
          'translated to the internal host, SNAT to the gateway',
        );
        assert.equal(tcp(t.wan, t.addr.gwWan, INT_WEB, WAN_OTHER), null, 'another client is not translated');
        const opened = entries();
        if (backend === 'iptables') {
          assert.equal(opened.length, 3, opened.map((e) => e.text).join('\n'));
          assert.ok(
            opened.some(
              (e) => e.text.startsWith('-A FWKNOP_FORWARD') && e.text.includes(`--dport ${INT_WEB}`),
            ),
          );
          assert.ok(
            opened.some(
              (e) =>
                e.text.startsWith('-A FWKNOP_PREROUTING') &&
                e.text.includes(`--to-destination ${t.addr.int}:${INT_WEB}`),
            ),
          );
          assert.ok(
            opened.some(
              (e) =>
                e.text.startsWith('-A FWKNOP_POSTROUTING') && e.text.includes(`--to-source ${t.addr.gwInt}`),
            ),
          );
        } else {
          assert.deepEqual(sets(opened), ['dnat_port_m', 'fwd_port_m', 'snat_flow']);
        }
        const counted = (await gatewayFirewall(t.gw, backend).counters()).get(String(g.grant));
        assert.ok(counted && counted.packets > 0, `counters moved: ${JSON.stringify(counted)}`);

        await run.waitFor((l) => l.msg === 'expired grants removed', 10_000);
        assert.equal(tcp(t.wan, t.addr.gwWan, INT_WEB), null, 'closed after expiry');
        assert.deepEqual(entries(), []);
      },
    );

    test(
      'the ghost service takes the knocking client from port 80 to the internal port 22; other clients get nothing',
      { timeout: 40_000 },
      async () => {
        const keys = randomKeys();
        const run = daemon(keys, wanConf(4, ['ENABLE_IPT_FORWARDING Y']));
        await run.start();
        assert.equal(tcp(t.wan, t.addr.gwWan, 80), null, 'nothing on port 80 before SPA');

        fwknopSend(t.ns, t.wan, t.addr.gwWan, keys, ['-A', 'tcp/80', '-N', `${t.addr.int}:${INT_SSH}`]);
        await run.waitFor((l) => l.msg === 'grant installed');
        assert.equal(
          tcp(t.wan, t.addr.gwWan, 80),
          `int-ssh ${t.addr.wan}`,
          'port 80 reaches the internal SSH port, no SNAT',
        );
        assert.equal(tcp(t.wan, t.addr.gwWan, 80, WAN_OTHER), null, 'another outside client gets nothing');
        assert.equal(tcp(t.lan, t.addr.gwWan, 80), null, 'a LAN client gets nothing');
        const opened = entries();
        if (backend === 'iptables') {
          assert.equal(opened.length, 2, opened.map((e) => e.text).join('\n'));
          assert.ok(
            opened.some(
              (e) =>
                e.text.startsWith('-A FWKNOP_PREROUTING') &&
                e.text.includes('--dport 80') &&
                e.text.includes(`--to-destination ${t.addr.int}:${INT_SSH}`),
            ),
          );
        } else {
          assert.deepEqual(sets(opened), ['dnat_port_m', 'fwd_port_m']);
          assert.ok(
            opened.some(
              (e) =>
                e.text.startsWith(`dnat_port_m ${t.addr.wan} . `) &&
                e.text.endsWith(` . 6 . 80 : ${t.addr.int} . ${INT_SSH}`),
            ),
          );
        }

        await run.waitFor((l) => l.msg === 'expired grants removed', 10_000);
        assert.equal(tcp(t.wan, t.addr.gwWan, 80), null, 'closed after expiry');
        assert.deepEqual(entries(), []);
      },
    );

    test(
      'a FORCE_NAT stanza translates even a plain access request to its own target',
      { timeout: 40_000 },
      async () => {
        const keys = randomKeys();
        const run = daemon(
          keys,
          wanConf(4, ['ENABLE_IPT_FORWARDING Y'], [`FORCE_NAT ${t.addr.int} ${INT_SSH}`]),
        );
        await run.start();
        assert.equal(tcp(t.wan, t.addr.gwWan, 2222), null);

        // Message type 1: no -N at all.
        fwknopSend(t.ns, t.wan, t.addr.gwWan, keys, ['-A', 'tcp/2222']);
        const g = await run.waitFor((l) => l.msg === 'grant installed');
        assert.equal(g.mode, 'nat');
        assert.equal(tcp(t.wan, t.addr.gwWan, 2222), `int-ssh ${t.addr.wan}`);
        assert.equal(tcp(t.wan, t.addr.gwWan, 2222, WAN_OTHER), null, 'another client gets nothing');
        const opened = entries();
        if (backend === 'iptables') {
          assert.ok(
            opened.some(
              (e) => e.text.startsWith('-A FWKNOP_FORWARD') && e.text.includes(`--dport ${INT_SSH}`),
            ),
          );
          assert.ok(
            opened.some(
              (e) =>
                e.text.startsWith('-A FWKNOP_PREROUTING') &&
                e.text.includes('--dport 2222') &&
                e.text.includes(`--to-destination ${t.addr.int}:${INT_SSH}`),
            ),
          );
          assert.equal(opened.length, 2);
        } else {
          assert.deepEqual(sets(opened), ['dnat_port_m', 'fwd_port_m']);
        }

        await run.waitFor((l) => l.msg === 'expired grants removed', 10_000);
        assert.equal(tcp(t.wan, t.addr.gwWan, 2222), null);
        assert.deepEqual(entries(), []);
      },
    );

    test(
      'local NAT maps a gateway port to a local service (types 5 and 6), and a type 6 re-knock extends it',
      { timeout: 40_000 },
      async () => {
        const keys = randomKeys();
        gwInputDrop();
        const run = daemon(keys, lanConf(3, ['ENABLE_IPT_LOCAL_NAT Y'], []));
        await run.start();
        assert.equal(tcp(t.lan, t.addr.gwLan, 2222), null, 'blocked before SPA');
        assert.equal(tcp(t.lan, t.addr.gwLan, GW_SSH), null);

        // Type 5: access message tcp/2222, NAT field "<gateway>,22".
        fwknopSend(t.ns, t.lan, t.addr.gwLan, keys, [
          '-A',
          `tcp/${GW_SSH}`,
          '--nat-local',
          '--nat-port',
          '2222',
        ]);
        const g = await run.waitFor((l) => l.msg === 'grant installed');
        assert.equal(
          tcp(t.lan, t.addr.gwLan, 2222),
          `gw-ssh ${t.addr.client}`,
          'port 2222 reaches the local port 22',
        );
        assert.equal(tcp(t.wan, t.addr.gwWan, 2222), null, 'not for another host');
        const opened = entries();
        if (backend === 'iptables') {
          assert.equal(opened.length, 2, opened.map((e) => e.text).join('\n'));
          assert.ok(
            opened.some((e) => e.text.startsWith('-A FWKNOP_INPUT') && e.text.includes(`--dport ${GW_SSH}`)),
          );
          assert.ok(
            opened.some(
              (e) =>
                e.text.startsWith('-A FWKNOP_PREROUTING') &&
                e.text.includes('--dport 2222') &&
                e.text.includes(`--to-destination ${t.addr.gwLan}:${GW_SSH}`),
            ),
          );
        } else {
          assert.deepEqual(sets(opened), ['dnat_port_m', 'in4_m']);
        }

        // Type 6 (with a client timeout) for the same mapping: the grant is extended, not doubled.
        fwknopSend(t.ns, t.lan, t.addr.gwLan, keys, [
          '-A',
          `tcp/${GW_SSH}`,
          '--nat-local',
          '--nat-port',
          '2222',
          '-f',
          '6',
        ]);
        const ext = await run.waitFor((l) => l.msg === 'grant extended');
        assert.equal(ext.grant, g.grant);
        assert.ok(expiresAt(ext) - expiresAt(g) >= 2500, 'extended to the client timeout');
        assert.deepEqual(shape(entries()), shape(opened));

        await sleepUntil(expiresAt(g) + 500);
        assert.equal(
          tcp(t.lan, t.addr.gwLan, 2222),
          `gw-ssh ${t.addr.client}`,
          'still open after the first expiry',
        );
        await run.waitFor((l) => l.msg === 'expired grants removed', 10_000);
        assert.equal(tcp(t.lan, t.addr.gwLan, 2222), null, 'blocked after the extended expiry');
        assert.deepEqual(entries(), []);
      },
    );

    /** A FORWARD_ALL grant of `timeoutS` seconds, then the daemon killed with SIGKILL. */
    async function grantThenKill(timeoutS: number): Promise<{ run: ReturnType<typeof daemon>; g: LogLine }> {
      const keys = randomKeys();
      const run = daemon(keys, lanConf(timeoutS, ['ENABLE_IPT_FORWARDING Y', 'ENABLE_IPT_SNAT Y'], ['FORWARD_ALL Y', 'DISABLE_DNAT Y']));
      await run.start();
      fwknopSend(t.ns, t.lan, t.addr.gwLan, keys);
      const g = await run.waitFor((l) => l.msg === 'grant installed');
      await run.stop('SIGKILL');
      return { run, g };
    }

    if (backend === 'nftables') {
      test(
        'with the daemon killed (kill -9), a live grant still ends at its expiry; the next start ends it in the database',
        { timeout: 40_000 },
        async () => {
          const { run, g } = await grantThenKill(4);
          assert.equal(
            tcp(t.lan, t.addr.wan, WAN_PORT),
            t.addr.gwWan,
            "open while the dead daemon's grant lives",
          );
          assert.notDeepEqual(entries(), []);

          await sleepUntil(expiresAt(g) + 300);
          assert.deepEqual(entries(), [], 'the kernel removed the elements at the expiry');
          assert.equal(
            tcp(t.lan, t.addr.wan, WAN_PORT),
            null,
            'blocked at the expiry with no daemon running',
          );

          await run.start();
          const rec = await run.waitFor((l) => l.msg === 'firewall reconciled');
          assert.equal(rec.expired, 1, 'the grant is ended as expired at start');
          assert.equal(tcp(t.lan, t.addr.wan, WAN_PORT), null);
        },
      );
    } else {
      test(
        'with the daemon killed (kill -9), the grant stays until the next start removes it (iptables has no kernel timeouts)',
        { timeout: 40_000 },
        async () => {
          const { run, g } = await grantThenKill(3);
          await sleepUntil(expiresAt(g) + 300);
          assert.equal(ownedGrantIds(t.ns, t.gw, backend).length, 1, 'the rules outlive a dead daemon');
          await run.start();
          const rec = await run.waitFor((l) => l.msg === 'firewall reconciled');
          assert.equal(rec.expired, 1);
          assert.deepEqual(entries(), [], 'removed during start-up reconciliation');
          assert.equal(tcp(t.lan, t.addr.wan, WAN_PORT), null);
        },
      );
    }
  });
}
