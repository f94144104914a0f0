/**
 * The gateway's Prometheus metrics: it implements the gateway's `GatewayMetrics` hooks (cheap
 * counters on the packet path) and renders everything as text for `GET /metrics`
 * (src/web/metrics-route.ts). Values that the gateway already holds (live grants, dropped
 * events) are read through callbacks at scrape time rather than mirrored.
 */
import type { Clock } from './core/ports.js';
import type { Service } from './daemon.js';
import type { GatewayMetrics } from './gateway.js';
import { Counter, counterValue, gauge, Histogram } from './prometheus-text.js';

/** Seconds. A grant is one iptables-restore or nft run: usually 5-50 ms, slow under load. */
export const GRANT_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds. An empty sweep is microseconds; one that removes rules runs a command. */
export const SWEEP_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** What the process itself reports; tests pass fixed numbers. */
export interface ProcessProbe {
  residentMemoryBytes(): number;
  heapUsedBytes(): number;
  /** User plus system CPU time. */
  cpuSeconds(): number;
}

export const nodeProcessProbe: ProcessProbe = {
  residentMemoryBytes: () => process.memoryUsage.rss(),
  heapUsedBytes: () => process.memoryUsage().heapUsed,
  cpuSeconds: () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  },
};

/** Read at scrape time from the running gateway. */
export interface GatewayGauges {
  liveGrants(): number;
  /** Events dropped by the capped event buffer or lost to a failing database. */
  droppedEvents?(): number;
}

export interface MetricsOptions {
  clock: Clock;
  probe?: ProcessProbe;
  /** Epoch ms the process started; default: when this object was made. */
  startedAt?: number;
}

export class PrometheusMetrics implements GatewayMetrics {
  private readonly packets = new Counter('spagate_packets_total', 'SPA packets by final outcome and reason.', ['outcome', 'reason'], 200);
  private readonly latency = new Histogram('spagate_grant_latency_seconds', 'Time from packet receipt to the grant rules being installed.', GRANT_LATENCY_BUCKETS);
  private readonly sweeps = new Histogram('spagate_sweep_duration_seconds', 'Duration of one expiry sweep.', SWEEP_BUCKETS);
  private readonly swept = new Counter('spagate_sweep_expired_grants_total', 'Grants removed by expiry sweeps.');
  private readonly probe: ProcessProbe;
  private readonly startedAt: number;
  private gauges: GatewayGauges | null = null;

  constructor(private readonly o: MetricsOptions) {
    this.probe = o.probe ?? nodeProcessProbe;
    this.startedAt = o.startedAt ?? o.clock.now();
  }

  packet(outcome: 'accepted' | 'rejected', reason: string): void {
    this.packets.inc([outcome, reason]);
  }

  grantLatency(ms: number): void {
    this.latency.observe(Math.max(0, ms) / 1000);
  }

  sweep(ms: number, removed: number): void {
    this.sweeps.observe(Math.max(0, ms) / 1000);
    if (removed > 0) this.swept.inc([], removed);
  }

  /** Point the scrape-time gauges at a gateway (null detaches: the gauges then read 0). */
  watch(g: GatewayGauges | null): void {
    this.gauges = g;
  }

  render(): string {
    const now = this.o.clock.now();
    const lines = [
      ...this.packets.render(),
      ...gauge('spagate_live_grants', 'Grants live now (their rules are installed).', this.read(() => this.gauges?.liveGrants() ?? 0)),
      ...this.latency.render(),
      ...this.sweeps.render(),
      ...this.swept.render(),
      ...counterValue('spagate_events_dropped_total', 'Events not written to the database (buffer cap under flood, or database errors).', this.read(() => this.gauges?.droppedEvents?.() ?? 0)),
      ...gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', this.read(() => this.probe.residentMemoryBytes())),
      ...gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', this.read(() => this.probe.heapUsedBytes())),
      ...counterValue('process_cpu_seconds_total', 'User and system CPU time spent, in seconds.', this.read(() => this.probe.cpuSeconds())),
      ...gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.', this.startedAt / 1000),
      ...gauge('spagate_uptime_seconds', 'Seconds since the daemon started.', Math.max(0, now - this.startedAt) / 1000),
    ];
    return `${lines.join('\n')}\n`;
  }

  /** A scrape must never fail because one source misbehaves. */
  private read(fn: () => number): number {
    try {
      const v = fn();
      return typeof v === 'number' ? v : NaN;
    } catch {
      return NaN;
    }
  }
}

/**
 * A daemon service that points the metrics at the running gateway on start and detaches on
 * stop; add it to `Adapters.services`.
 */
export function metricsService(metrics: PrometheusMetrics): Service {
  return {
    name: 'metrics',
    start: (gw) => {
      metrics.watch({ liveGrants: () => gw.liveGrants().length, droppedEvents: () => gw.events.dropped });
      return Promise.resolve();
    },
    stop: () => {
      metrics.watch(null);
      return Promise.resolve();
    },
  };
}
