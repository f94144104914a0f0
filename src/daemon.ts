/**
 * The composition root: the only place that picks adapters. `createGateway` wires given
 * adapters (tests pass in-memory ones); `buildAdapters` makes the real ones from the config.
 * Start order: store, firewall, state reconcile, sweeper, capture, web. Stop: the reverse.
 */
import type { AccessStanza, GatewayConfig } from './core/config-model.js';
import type { AdminStore, Clock, Firewall, Logger, PacketSource, RandomSource, ReplayEntry, Store, StoreRetention } from './core/ports.js';
import { CapPacketSource } from './adapters/cap-capture.js';
import { ExecFileRunner } from './adapters/command-runner.js';
import { ConntrackFlusher } from './adapters/conntrack.js';
import { DigestFile } from './adapters/digest-file.js';
import { makeResolver } from './adapters/dns-resolver.js';
import { CommandFirewallProbe, detectFirewallBackend } from './adapters/firewall-detect.js';
import { IptablesFirewall } from './adapters/iptables.js';
import { MemoryFirewall } from './adapters/memory-firewall.js';
import { NftablesFirewall } from './adapters/nftables.js';
import { defaultDbFile, SqliteStore } from './adapters/sqlite-store.js';
import { UdpPacketSource } from './adapters/udp-socket.js';
import { Gateway, type GatewayMetrics } from './gateway.js';
import { buildUsers, type Users } from './users/setup.js';
import { DEFAULT_SWEEPER_OPTIONS, HISTORY_RETENTION_MS, Sweeper } from './sweeper.js';

export interface Adapters {
  store: Store & AdminStore & StoreRetention;
  firewall: Firewall;
  source: PacketSource;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  resolveHost?: (host: string) => Promise<string | null>;
  flushConnections?: (ip: string) => Promise<unknown>;
  persistDigest?: (e: ReplayEntry) => Promise<void>;
  metrics?: GatewayMetrics;
  /** Database users (stanzas beside access.conf's) and enrollment; their stanzas load before capture starts. */
  users?: Users;
  /** Extra long-lived services started last and stopped first (dashboard, portal, lease watcher). */
  services?: readonly Service[];
}

export interface Service {
  name: string;
  start(gw: Gateway): Promise<void>;
  stop(): Promise<void>;
}

export interface RunningGateway {
  gateway: Gateway;
  stop(): Promise<void>;
  reload: (stanzas: readonly AccessStanza[]) => void;
}

export async function createGateway(config: GatewayConfig, a: Adapters): Promise<RunningGateway> {
  const log = a.logger;
  const gateway = new Gateway({
    config,
    store: a.store,
    firewall: a.firewall,
    clock: a.clock,
    random: a.random,
    logger: log.child({ component: 'gateway' }),
    resolveHost: a.resolveHost,
    flushConnections: a.flushConnections,
    persistDigest: a.persistDigest,
    metrics: a.metrics,
  });
  const s = config.server;
  const started: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of started.reverse()) {
      try {
        await stop();
      } catch (e) {
        log.error({ err: e }, 'error during shutdown');
      }
    }
    started.length = 0;
  };
  try {
    if (!s.testMode) {
      await a.firewall.start({ flush: s.flushIptAtInit });
      started.push(() => a.firewall.stop({ flush: s.flushIptAtExit }));
    }
    started.push(() => a.store.close());
    await gateway.start();
    started.push(() => gateway.stop());
    // Runs before gateway.stop (events flushed) and store.close, after capture has stopped.
    if (!s.testMode && s.flushIptAtExit) started.push(async () => void (await gateway.endAllFlushed('flushed at exit (FLUSH_IPT_AT_EXIT)')));
    await a.users?.directory.attach(gateway);
    const sweeper = new Sweeper(gateway, a.clock, log.child({ component: 'sweeper' }), DEFAULT_SWEEPER_OPTIONS, {
      store: a.store,
      eventsMs: HISTORY_RETENTION_MS,
      endedGrantsMs: HISTORY_RETENTION_MS,
    });
    if (!s.testMode) {
      sweeper.start();
      started.push(() => sweeper.stop());
    }
    await a.source.start((p) => gateway.handlePacket(p));
    started.push(() => a.source.stop());
    for (const svc of a.services ?? []) {
      await svc.start(gateway);
      started.push(() => svc.stop());
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  log.info(
    { backend: a.firewall.backend, source: a.source.kind, stanzas: config.stanzas.length, testMode: s.testMode },
    'spagate listening',
  );
  return {
    gateway,
    stop: stopAll,
    reload: (stanzas) => {
      if (a.users) void a.users.directory.setFileStanzas(stanzas).catch((e: unknown) => log.error({ err: e }, 'could not rebuild stanzas with users'));
      else gateway.reloadStanzas(stanzas);
      log.info({ stanzas: stanzas.length }, 'access stanzas reloaded');
    },
  };
}

/** What `buildAdapters` needs besides the config. */
export interface BuildOptions {
  logger: Logger;
  clock: Clock;
  random: RandomSource;
  /** Digest file given with -d: also keep fwknop's digest.cache format there. */
  digestFile?: string | null;
}

/** The real adapters for a config: SQLite, the chosen firewall backend, pcap or UDP, conntrack. */
export async function buildAdapters(config: GatewayConfig, o: BuildOptions): Promise<Adapters> {
  const s = config.server;
  const log = o.logger;
  const runner = new ExecFileRunner();
  const store = SqliteStore.open(defaultDbFile(s.dataDir), { logger: log.child({ component: 'store' }) });
  try {
    const firewall = s.testMode
      ? new MemoryFirewall({ chains: s.chains })
      : await chooseFirewall(config, runner, log, o.clock);
    const source: PacketSource = s.enableUdpServer
      ? new UdpPacketSource({ port: s.udpservPort, logger: log.child({ component: 'udp' }), clock: o.clock })
      : new CapPacketSource({ interface: s.pcapIntf, filter: s.pcapFilter, bufferSize: s.pcapBufferBytes, spaPrefilter: true, logger: log.child({ component: 'pcap' }), clock: o.clock });
    const conntrack = new ConntrackFlusher({ conntrack: '/usr/sbin/conntrack', runner, logger: log.child({ component: 'conntrack' }) });
    const digest = o.digestFile ? await DigestFile.open(o.digestFile, { logger: log }) : null;
    return {
      store,
      firewall,
      source,
      clock: o.clock,
      random: o.random,
      logger: log,
      users: buildUsers(config, { store, clock: o.clock, random: o.random, logger: log }),
      resolveHost: s.enableNatDns ? makeResolver() : undefined,
      flushConnections: s.testMode ? undefined : (ip) => conntrack.flushSource(ip),
      persistDigest: digest ? (e) => digest.append(e) : undefined,
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}

async function chooseFirewall(config: GatewayConfig, runner: ExecFileRunner, log: Logger, clock: Clock): Promise<Firewall> {
  const s = config.server;
  const choice = await detectFirewallBackend(s.firewallBackend, new CommandFirewallProbe(runner, { nft: s.nftExe, iptables: s.firewallExe }));
  log.info({ backend: choice.backend, reason: choice.reason, configured: s.firewallBackend }, 'firewall backend chosen');
  if (choice.backend === 'nftables') {
    return new NftablesFirewall({
      nft: s.nftExe,
      runner,
      logger: log.child({ component: 'nftables' }),
      clock,
      conntrackAccept: s.conntrackAccept,
      iptables: s.firewallExe,
    });
  }
  return new IptablesFirewall({
    chains: s.chains,
    iptables: s.firewallExe,
    runner,
    logger: log.child({ component: 'iptables' }),
    rulePrepend: s.enableRulePrepend,
    conntrackAccept: s.conntrackAccept,
  });
}
