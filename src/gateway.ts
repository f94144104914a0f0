/**
 * The gateway service: receives packets, verifies them, installs and ends grants, and keeps
 * the database and the firewall in step. It knows ports only; src/daemon.ts picks the
 * adapters. Every packet ends in exactly one event (accepted or rejected with a reason).
 */
import { EventEmitter } from 'node:events';
import type { AccessStanza, GatewayConfig } from './core/config-model.js';
import { MAX_INSTALL_CREDIT_MS, planExpiry, planReconcile } from './core/expiry.js';
import { FairQueue } from './core/fair-queue.js';
import { LiveGrants } from './core/live-grants.js';
import { StanzaHint } from './core/stanza-hint.js';
import { grantMode, sameRules } from './core/grant-plan.js';
import type { Grant, GrantCounters, ReceivedPacket, SpaEvent } from './core/model.js';
import type { Clock, Firewall, Logger, RandomSource, ReplayEntry, Store } from './core/ports.js';
import { compileStanzas, finishNat, verifyPacket, type CompiledStanza, type GrantVerdict, type Verdict } from './core/verify.js';
import { EventLog } from './event-log.js';
import { ReplayCache } from './replay-cache.js';
import { RejectSummary } from './reject-summary.js';

export interface GatewayDeps {
  config: GatewayConfig;
  store: Store;
  firewall: Firewall;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  /** Resolves NAT hostnames (ENABLE_NAT_DNS); must time out on its own. */
  resolveHost?: (host: string) => Promise<string | null>;
  /** Ends open connections of a source when its grant is revoked or taken over. */
  flushConnections?: (ip: string) => Promise<unknown>;
  /** Extra persistence of replay digests (fwknop's digest file with -d). */
  persistDigest?: (e: ReplayEntry) => Promise<void>;
  /** Observability hooks (Prometheus metrics); all optional and cheap. */
  metrics?: GatewayMetrics;
}

/** What the gateway reports as it works; implemented by the metrics module. */
export interface GatewayMetrics {
  /** Every packet's final outcome: 'accepted' with reason granted/extended/test_mode, or 'rejected' with its reason. */
  packet(outcome: 'accepted' | 'rejected', reason: string): void;
  /** Milliseconds from packet receipt to rules installed. */
  grantLatency(ms: number): void;
  /** One sweep's duration and how many grants it removed. */
  sweep(ms: number, removed: number): void;
}

export type GrantChange = { type: 'granted' | 'extended' | 'revoked' | 'expired' | 'ended'; grant: Grant };

export interface GatewayStats {
  packets: number;
  accepted: number;
  rejected: Record<string, number>;
  startedAt: number;
}

const REPLAY_MARGIN_MS = 60_000;
/** Sources remembered by the stanza hint; the oldest is forgotten first. */
const HINT_CAPACITY = 100_000;
/** One verification slice; then the event loop gets to read the capture again. */
const DRAIN_SLICE_MS = 2;
const DRAIN_SLICE_PACKETS = 256;

export class Gateway {
  private stanzas: CompiledStanza[];
  private readonly live = new LiveGrants();
  private readonly replay: ReplayCache;
  readonly events: EventLog;
  private readonly emitter = new EventEmitter();
  /**
   * Last stanza that accepted a source IP or MAC, tried first next time: with many stanzas a
   * returning client costs one HMAC instead of one per stanza before its own. Keyed by MAC too,
   * so a client that got a new address from DHCP is still found at once.
   */
  private readonly hint = new StanzaHint(HINT_CAPACITY);
  private readonly summary: RejectSummary;
  private sweeping: Promise<void> | null = null;
  private sweepFailed = false;
  private readonly perSource = new Map<string, Promise<void>>();
  readonly stats: GatewayStats;
  private readonly log: Logger;

  constructor(private readonly deps: GatewayDeps) {
    this.log = deps.logger;
    this.stanzas = compileStanzas(deps.config.stanzas);
    const s = deps.config.server;
    const retention = s.enableSpaPacketAging ? 2 * s.maxSpaPacketAge * 1000 + REPLAY_MARGIN_MS : Infinity;
    this.replay = new ReplayCache(deps.store, retention, deps.persistDigest);
    this.events = new EventLog(deps.store, deps.logger.child({ component: 'events' }));
    this.summary = new RejectSummary(deps.logger.child({ component: 'packets' }), 10_000);
    this.stats = { packets: 0, accepted: 0, rejected: {}, startedAt: deps.clock.now() };
    this.emitter.setMaxListeners(100);
  }

  get config(): GatewayConfig {
    return this.deps.config;
  }

  /** Restore state: warm the replay cache, load live grants, reconcile the firewall with them. */
  async start(): Promise<void> {
    const now = this.deps.clock.now();
    const n = await this.replay.load(now);
    for (const g of await this.deps.store.liveGrants()) this.live.set(g.id, g);
    this.log.info({ replayDigests: n, liveGrants: this.live.size }, 'state loaded');
    if (this.deps.config.server.testMode) return;
    // FLUSH_IPT_AT_INIT Y has just emptied the chains: the grants went with them.
    if (this.deps.config.server.flushIptAtInit) await this.endAllFlushed('flushed at start (FLUSH_IPT_AT_INIT)');
    await this.reconcile({ restoreAll: true });
  }

  async stop(): Promise<void> {
    this.runLater();
    await this.sweeping;
    await this.events.stop();
    this.summary.flush();
  }

  /** Swap in a new stanza list (SIGHUP): live grants stay as they are. */
  reloadStanzas(stanzas: readonly AccessStanza[]): void {
    this.stanzas = compileStanzas(stanzas);
    this.hint.clear();
  }

  subscribe(listener: (c: GrantChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  liveGrants(): Grant[] {
    return [...this.live.values()].sort((a, b) => a.grantedAt - b.grantedAt);
  }

  getLive(id: string): Grant | undefined {
    return this.live.get(id);
  }

  counters(): Promise<Map<string, GrantCounters>> {
    return this.deps.firewall.counters();
  }

  /**
   * The packet handler: the packet joins the fair queue at once (the capture must get back to
   * its ring quickly); verification runs in slices between reads (`drain`), and a grant then
   * goes to the firewall asynchronously.
   */
  handlePacket(p: ReceivedPacket): void {
    this.stats.packets++;
    if (!this.intake.push(p.srcIp, p)) {
      this.reject(p, 'overload', null, null);
      return;
    }
    if (!this.draining) {
      this.draining = true;
      setImmediate(this.drain);
    }
  }

  private readonly intake = new FairQueue<ReceivedPacket>();
  private draining = false;

  /**
   * Verifies queued packets for at most DRAIN_SLICE_MS (or DRAIN_SLICE_PACKETS), then yields
   * so the capture can empty its ring before it overflows: with 1,000 stanzas one wrong-HMAC
   * packet costs milliseconds, and a flood would otherwise fill the ring while it is verified.
   */
  private readonly drain = (): void => {
    const start = this.deps.clock.now();
    for (let n = 0; n < DRAIN_SLICE_PACKETS; n++) {
      const p = this.intake.shift();
      if (p === undefined) break;
      this.verifyOne(p);
      if (this.deps.clock.now() - start >= DRAIN_SLICE_MS) break;
    }
    if (this.intake.size > 0) setImmediate(this.drain);
    else this.draining = false;
  };

  private verifyOne(p: ReceivedPacket): void {
    let v: Verdict;
    const now = this.deps.clock.now();
    try {
      v = verifyPacket({
        packet: p,
        stanzas: this.stanzas,
        options: this.deps.config.server,
        now,
        seen: (d) => this.replay.has(d),
        preferStanzaId: this.hint.lookup(p.srcIp, p.srcMac),
      });
    } catch (e) {
      this.log.error({ err: e, src: p.srcIp }, 'internal error verifying packet');
      v = { kind: 'reject', reason: 'internal', stanza: null, fields: null, digest: null, burnDigest: false };
    }
    if (v.digest && (v.kind !== 'reject' || v.burnDigest)) this.burn(v.digest, p, now);
    // Remembered at once, not after the install: in a burst from one address the next
    // packets are verified before the first grant is in the kernel, and each would otherwise
    // try every stanza before the right one.
    if (v.kind === 'grant') this.hint.remember(p.srcIp, p.srcMac, v.stanza.id);
    this.later.push({ v, p });
    if (this.later.length === 1) setImmediate(this.runLater);
  }

  /**
   * Verdicts wait for the packet source to finish its read: the capture hands over every packet
   * queued in the kernel ring in one go, and doing each grant's database and firewall work in
   * between (as microtasks) slowed that drain to the point where a burst of 1,000 knocks
   * overflowed the ring (~500 slots) and lost half of them. Order is kept.
   */
  private readonly later: { v: Verdict; p: ReceivedPacket }[] = [];
  private readonly runLater = (): void => {
    const batch = this.later.splice(0);
    for (const { v, p } of batch) void this.act(v, p);
  };

  private burn(digest: string, p: ReceivedPacket, now: number): void {
    // fwknopd records no digests in --test mode; neither do we.
    if (this.deps.config.server.testMode) return;
    const e: ReplayEntry = { digest, proto: p.proto, srcIp: p.srcIp, srcPort: p.srcPort, dstIp: p.dstIp, dstPort: p.dstPort, at: now };
    this.replay.add(e).catch((err: unknown) => this.log.error({ err }, 'replay cache write failed'));
  }

  private async act(v: Verdict, p: ReceivedPacket): Promise<void> {
    try {
      if (v.kind === 'resolve') {
        const ip = this.deps.resolveHost ? await this.deps.resolveHost(v.host) : null;
        v = finishNat(v.pending, ip, v.digest, this.deps.config.server);
      }
      if (v.kind === 'reject') {
        this.reject(p, v.reason, v.stanza, v.fields?.username ?? null);
        return;
      }
      if (v.kind === 'grant') await this.serialized(v.rules.src, () => this.grant(v as GrantVerdict, p));
    } catch (e) {
      this.log.error({ err: e, src: p.srcIp }, 'internal error handling packet');
      this.reject(p, 'internal', null, null);
    }
  }

  private reject(p: ReceivedPacket, reason: string, stanza: AccessStanza | null, user: string | null): void {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1;
    this.deps.metrics?.packet('rejected', reason);
    this.summary.note(p.srcIp, reason, this.deps.clock.now());
    this.events.add(this.event(p, 'rejected', reason, stanza?.id ?? null, user, null));
  }

  private async grant(v: GrantVerdict, p: ReceivedPacket): Promise<void> {
    const now = this.deps.clock.now();
    const user = v.fields.username;
    if (this.deps.config.server.testMode) {
      this.stats.accepted++;
      this.log.info({ src: p.srcIp, user, stanza: v.stanza.id, mode: grantMode(v.rules), test: true }, 'SPA accepted (test mode: no rules)');
      this.events.add(this.event(p, 'accepted', 'test_mode', v.stanza.id, user, null));
      this.deps.metrics?.packet('accepted', 'test_mode');
      return;
    }
    const expiresAt = now + v.timeout * 1000;
    const existing = this.findSame(v);
    let g: Grant = existing
      ? { ...existing, user, expiresAt: Math.max(existing.expiresAt, expiresAt) }
      : { id: this.newId(), stanzaId: v.stanza.id, user, rules: v.rules, grantedAt: now, expiresAt };
    // Database first: a crash right after the rules go in must not leave a grant nobody knows.
    try {
      await this.deps.store.saveGrant(g);
    } catch (e) {
      this.log.error({ err: e, grant: g.id }, 'could not save grant; refusing it');
      this.reject(p, 'store_error', v.stanza, user);
      return;
    }
    try {
      await this.deps.firewall.install([g]);
    } catch (e) {
      this.log.error({ err: e, src: p.srcIp, grant: g.id }, 'firewall refused grant');
      await (existing ? this.deps.store.saveGrant(existing) : this.deps.store.endGrant(g.id, now, 'firewall_error')).catch(
        (err: unknown) => this.log.error({ err, grant: g.id }, 'could not roll back grant in database'),
      );
      this.reject(p, 'firewall_error', v.stanza, user);
      return;
    }
    g = await this.countFromInstall(g, now, expiresAt);
    this.live.set(g.id, g);
    this.stats.accepted++;
    const reason = existing ? 'extended' : 'granted';
    this.deps.metrics?.packet('accepted', reason);
    this.deps.metrics?.grantLatency(this.deps.clock.now() - p.receivedAt);
    this.log.info(
      { src: p.srcIp, mac: p.srcMac, user, stanza: v.stanza.id, grant: g.id, mode: grantMode(g.rules), expiresAt: new Date(g.expiresAt).toISOString() },
      existing ? 'grant extended' : 'grant installed',
    );
    this.events.add(this.event(p, 'accepted', reason, v.stanza.id, user, g.id));
    this.emitter.emit('change', { type: existing ? 'extended' : 'granted', grant: g } satisfies GrantChange);
  }

  /**
   * The client's time counts from when its rules are in place, not from when its packet was
   * read: the install (milliseconds) is not taken out of its timeout, so access never ends
   * early. Credited up to MAX_INSTALL_CREDIT_MS, inside the grace of the kernel's own timeouts
   * (nftables-state.ts); the sweeper closes at the stored expiry.
   */
  private async countFromInstall(g: Grant, start: number, planned: number): Promise<Grant> {
    const credit = Math.min(this.deps.clock.now() - start, MAX_INSTALL_CREDIT_MS);
    if (g.expiresAt !== planned || credit <= 0) return g;
    const next: Grant = { ...g, expiresAt: planned + credit };
    try {
      await this.deps.store.saveGrant(next);
      return next;
    } catch (e) {
      this.log.warn({ err: e, grant: g.id }, 'could not store the expiry counted from install; keeping the first');
      return g;
    }
  }

  /** Grants for one source run one after another, so a quick second knock extends instead of duplicating. */
  private serialized(key: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.perSource.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.perSource.set(key, next);
    void next.finally(() => {
      if (this.perSource.get(key) === next) this.perSource.delete(key);
    });
    return next;
  }

  private findSame(v: GrantVerdict): Grant | undefined {
    for (const g of this.live.from(v.rules.src)) {
      if (g.stanzaId === v.stanza.id && sameRules(g.rules, v.rules)) return g;
    }
    return undefined;
  }

  /** Admin revoke: rules out, open connections cut, grant ended. */
  async revoke(id: string, by: string): Promise<boolean> {
    const g = this.live.get(id);
    if (!g) return false;
    await this.end(g, 'revoked', `revoked by ${by}`);
    return true;
  }

  /** Admin extend: moves the expiry to now + seconds (never shortens below now). */
  async extend(id: string, seconds: number, by: string): Promise<Grant | null> {
    const g = this.live.get(id);
    if (!g) return null;
    const next: Grant = { ...g, expiresAt: Math.max(g.expiresAt, this.deps.clock.now()) + seconds * 1000 };
    await this.deps.store.saveGrant(next);
    try {
      await this.deps.firewall.install([next]);
    } catch (e) {
      await this.deps.store.saveGrant(g).catch(() => undefined);
      throw e;
    }
    this.live.set(id, next);
    this.events.add(this.adminEvent('extended', `extended ${seconds}s by ${by}`, next));
    this.emitter.emit('change', { type: 'extended', grant: next } satisfies GrantChange);
    return next;
  }

  /** Ends a grant for a reason outside the packet path (revoke, DHCP lease change, ...). */
  async end(g: Grant, outcome: 'revoked' | 'ended' | 'expired', detail: string): Promise<void> {
    await this.deps.firewall.remove([g]);
    this.live.delete(g.id);
    if (outcome !== 'expired' && this.deps.flushConnections) {
      await this.deps.flushConnections(g.rules.src).catch((e: unknown) => this.log.warn({ err: e }, 'conntrack flush failed'));
    }
    const now = this.deps.clock.now();
    await this.deps.store.endGrant(g.id, now, outcome).catch((e: unknown) => this.log.error({ err: e, grant: g.id }, 'could not end grant in database'));
    this.events.add(this.adminEvent(outcome, detail, g));
    this.log.info({ grant: g.id, src: g.rules.src, outcome, detail }, `grant ${outcome}`);
    this.emitter.emit('change', { type: outcome, grant: g } satisfies GrantChange);
  }

  /** One sweep: remove what is due; runs never overlap. */
  sweep(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    this.sweeping = this.sweepOnce().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  /**
   * When the precise timer beside the once-a-second cron should sweep next: the earliest
   * expiry, including grants that fell due while a sweep ran (they must not wait for the next
   * tick). After a failed removal only expiries still ahead count, so a broken firewall is
   * retried by the cron once a second, not in a tight loop.
   */
  nextExpiry(): number | null {
    const now = this.deps.clock.now();
    const plan = planExpiry(now, [...this.live.values()]);
    return plan.due.length > 0 && !this.sweepFailed ? now : plan.nextAt;
  }

  private async sweepOnce(): Promise<void> {
    const now = this.deps.clock.now();
    const { due } = planExpiry(now, [...this.live.values()]);
    if (due.length === 0) {
      this.deps.metrics?.sweep(this.deps.clock.now() - now, 0);
      return;
    }
    try {
      await this.deps.firewall.remove(due);
      this.sweepFailed = false;
    } catch (e) {
      // Leave them live: the next sweep tries again; nothing is forgotten while rules remain.
      this.sweepFailed = true;
      this.log.error({ err: e, count: due.length }, 'could not remove expired grants; will retry');
      return;
    }
    for (const g of due) {
      this.live.delete(g.id);
      this.events.add(this.adminEvent('expired', 'access timeout reached', g));
      this.emitter.emit('change', { type: 'expired', grant: g } satisfies GrantChange);
    }
    await Promise.all(due.map((g) => this.deps.store.endGrant(g.id, now, 'expired'))).catch((e: unknown) =>
      this.log.error({ err: e }, 'could not mark expired grants in database'),
    );
    this.deps.metrics?.sweep(this.deps.clock.now() - now, due.length);
    this.log.info({ count: due.length }, 'expired grants removed');
  }

  /** Database is the truth: put back live grants, end expired ones, remove rules nobody owns. */
  async reconcile(opts: { restoreAll?: boolean } = {}): Promise<{ restored: number; expired: number; orphans: number }> {
    const now = this.deps.clock.now();
    const installed = await this.deps.firewall.listInstalled();
    const plan = planReconcile(now, [...this.live.values()], installed, opts);
    if (plan.restore.length > 0) await this.deps.firewall.install(plan.restore);
    if (plan.expire.length > 0) {
      await this.deps.firewall.remove(plan.expire);
      for (const g of plan.expire) {
        this.live.delete(g.id);
        await this.deps.store.endGrant(g.id, now, 'expired');
        this.events.add(this.adminEvent('expired', 'expired while the daemon was down', g));
      }
    }
    const orphans = await this.deps.firewall.removeOrphans(new Set(this.live.keys()));
    if (plan.restore.length || plan.expire.length || orphans.length) {
      this.log.info({ restored: plan.restore.length, expired: plan.expire.length, orphans: orphans.length }, 'firewall reconciled');
    }
    return { restored: plan.restore.length, expired: plan.expire.length, orphans: orphans.length };
  }

  /**
   * FLUSH_IPT_AT_INIT/EXIT Y remove every rule at once: record the live grants as ended, so
   * the next start does not put back what the operator asked to flush. The firewall flush
   * itself is the caller's; a flush that then fails leaves rules nobody owns, which the next
   * start removes as orphans.
   */
  async endAllFlushed(detail: string): Promise<number> {
    const now = this.deps.clock.now();
    const all = [...this.live.values()];
    for (const g of all) {
      this.live.delete(g.id);
      await this.deps.store.endGrant(g.id, now, 'flushed').catch((e: unknown) => this.log.error({ err: e, grant: g.id }, 'could not end grant in database'));
      this.events.add(this.adminEvent('ended', detail, g));
      this.emitter.emit('change', { type: 'ended', grant: g } satisfies GrantChange);
    }
    if (all.length > 0) this.log.info({ count: all.length, detail }, 'grants ended by a flush');
    return all.length;
  }

  /** Periodic housekeeping of the rejection log summary (the sweeper calls it every tick). */
  flushRejectSummary(): void {
    this.summary.flushIfDue(this.deps.clock.now());
  }

  async pruneReplay(): Promise<number> {
    return this.replay.prune(this.deps.clock.now());
  }

  private newId(): string {
    return this.deps.random.bytes(8).toString('hex');
  }

  private event(p: ReceivedPacket, outcome: SpaEvent['outcome'], reason: string, stanzaId: string | null, user: string | null, grantId: string | null): SpaEvent {
    return { at: this.deps.clock.now(), outcome, reason, srcIp: p.srcIp, srcPort: p.srcPort, mac: p.srcMac, user, stanzaId, grantId, detail: null };
  }

  private adminEvent(outcome: SpaEvent['outcome'], detail: string, g: Grant): SpaEvent {
    return { at: this.deps.clock.now(), outcome, reason: outcome, srcIp: g.rules.src, srcPort: null, mac: g.rules.mac, user: g.user, stanzaId: g.stanzaId, grantId: g.id, detail };
  }
}
