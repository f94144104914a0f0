import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { metricsService, PrometheusMetrics, type ProcessProbe } from '../../src/metrics.js';
import { Counter, escapeLabelValue, Histogram } from '../../src/prometheus-text.js';
import { stanza } from '../helpers/fixtures.js';
import { NOW, startInProcess } from '../helpers/in-process-gateway.js';

// A parser for the text exposition format, written from the format's description, so the
// tests read the output the way a Prometheus server would rather than grepping it.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    const name = text.slice(i, eq);
    assert.match(name, /^[a-zA-Z_][a-zA-Z0-9_]*$/, `label name ${name}`);
    assert.equal(text[eq + 1], '"');
    let j = eq + 2;
    let v = '';
    for (;;) {
      const c = text[j];
      assert.ok(c !== undefined, 'unterminated label value');
      if (c === '\\') {
        const n = text[j + 1];
        v += n === 'n' ? '\n' : n;
        j += 2;
      } else if (c === '"') {
        j++;
        break;
      } else {
        v += c;
        j++;
      }
    }
    out[name] = v;
    i = text[j] === ',' ? j + 1 : j;
  }
  return out;
}

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  assert.match(s, /^-?[0-9.e+-]+$/, `value ${s}`);
  return Number(s);
}

function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const fams = new Map<string, Family>();
  let current: string | null = null;
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      assert.ok(!fams.has(m[1]), `family ${m[1]} appears once`);
      fams.set(m[1], { type: 'untyped', help: m[2], samples: [] });
      current = m[1];
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      assert.equal(m[1], current, 'TYPE follows its HELP');
      fams.get(m[1])!.type = m[2];
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `sample line: ${JSON.stringify(line)}`);
    const fam = current === null ? undefined : fams.get(current);
    assert.ok(fam && current !== null, `sample ${m[1]} after a HELP line`);
    const okName = fam.type === 'histogram' ? [`${current}_bucket`, `${current}_sum`, `${current}_count`].includes(m[1]) : m[1] === current;
    assert.ok(okName, `sample ${m[1]} belongs to ${current}`);
    fam.samples.push({ name: m[1], labels: parseLabels(m[2] ?? ''), value: parseValue(m[3]) });
  }
  return fams;
}

function value(f: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  const fam = f.get(name) ?? f.get(base);
  return fam?.samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
}

function checkHistogram(f: Map<string, Family>, name: string): { buckets: [number, number][]; count: number; sum: number } {
  const fam = f.get(name);
  assert.equal(fam?.type, 'histogram', name);
  const buckets = fam.samples.filter((s) => s.name === `${name}_bucket`).map((s) => [parseValue(s.labels.le), s.value] as [number, number]);
  assert.equal(buckets.at(-1)?.[0], Infinity, 'last bucket is +Inf');
  for (let i = 1; i < buckets.length; i++) {
    assert.ok(buckets[i][0] > buckets[i - 1][0], 'bounds increase');
    assert.ok(buckets[i][1] >= buckets[i - 1][1], 'buckets are cumulative');
  }
  const count = value(f, `${name}_count`)!;
  assert.equal(buckets.at(-1)?.[1], count, '+Inf bucket equals the count');
  return { buckets, count, sum: value(f, `${name}_sum`)! };
}

const probe: ProcessProbe = { residentMemoryBytes: () => 50_000_000, heapUsedBytes: () => 20_000_000, cpuSeconds: () => 1.5 };

test('PrometheusMetrics renders every family with HELP and TYPE and parses back', () => {
  const clock = new ManualClock(NOW);
  const m = new PrometheusMetrics({ clock, probe });
  clock.advance(90_000);
  const f = parseExposition(m.render());
  for (const [name, type] of [
    ['spagate_packets_total', 'counter'],
    ['spagate_live_grants', 'gauge'],
    ['spagate_grant_latency_seconds', 'histogram'],
    ['spagate_sweep_duration_seconds', 'histogram'],
    ['spagate_sweep_expired_grants_total', 'counter'],
    ['spagate_events_dropped_total', 'counter'],
    ['process_resident_memory_bytes', 'gauge'],
    ['process_start_time_seconds', 'gauge'],
    ['spagate_uptime_seconds', 'gauge'],
  ]) {
    assert.equal(f.get(name)?.type, type, name);
  }
  assert.equal(value(f, 'process_resident_memory_bytes'), 50_000_000);
  assert.equal(value(f, 'process_cpu_seconds_total'), 1.5);
  assert.equal(value(f, 'process_start_time_seconds'), NOW / 1000);
  assert.equal(value(f, 'spagate_uptime_seconds'), 90);
  assert.equal(value(f, 'spagate_live_grants'), 0, 'no gateway attached yet reads 0');
});

test('PrometheusMetrics packet counters increase per outcome and reason', () => {
  const m = new PrometheusMetrics({ clock: new ManualClock(NOW), probe });
  m.packet('rejected', 'hmac_mismatch');
  m.packet('rejected', 'hmac_mismatch');
  m.packet('accepted', 'granted');
  const before = parseExposition(m.render());
  assert.equal(value(before, 'spagate_packets_total', { outcome: 'rejected', reason: 'hmac_mismatch' }), 2);
  assert.equal(value(before, 'spagate_packets_total', { outcome: 'accepted', reason: 'granted' }), 1);
  m.packet('rejected', 'hmac_mismatch');
  m.packet('rejected', 'replay');
  const after = parseExposition(m.render());
  assert.equal(value(after, 'spagate_packets_total', { outcome: 'rejected', reason: 'hmac_mismatch' }), 3);
  assert.equal(value(after, 'spagate_packets_total', { outcome: 'rejected', reason: 'replay' }), 1);
  assert.equal(value(after, 'spagate_packets_total', { outcome: 'accepted', reason: 'granted' }), 1);
});

test('PrometheusMetrics histograms are cumulative with +Inf equal to the count and the sum in seconds', () => {
  const m = new PrometheusMetrics({ clock: new ManualClock(NOW), probe });
  for (const ms of [0.5, 3, 7, 40, 40, 900, 60_000]) m.grantLatency(ms);
  m.sweep(0.05, 0);
  m.sweep(12, 3);
  const f = parseExposition(m.render());
  const h = checkHistogram(f, 'spagate_grant_latency_seconds');
  assert.equal(h.count, 7);
  assert.ok(Math.abs(h.sum - (0.5 + 3 + 7 + 40 + 40 + 900 + 60_000) / 1000) < 1e-9);
  const at = (le: number) => h.buckets.find(([b]) => b === le)?.[1];
  assert.equal(at(0.001), 1, '0.5 ms falls in the 1 ms bucket');
  assert.equal(at(0.05), 5, 'up to 50 ms: 0.5, 3, 7, 40, 40');
  assert.equal(at(1), 6, '900 ms counted by the 1 s bucket');
  assert.equal(at(10), 6, 'a 60 s grant is only in +Inf');
  const s = checkHistogram(f, 'spagate_sweep_duration_seconds');
  assert.equal(s.count, 2);
  assert.equal(value(f, 'spagate_sweep_expired_grants_total'), 3);
});

test('Histogram keeps buckets cumulative for any observations', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: -1, max: 100, noNaN: true }), { maxLength: 200 }), (obs) => {
      const h = new Histogram('x_seconds', 'x', [0.1, 1, 10]);
      for (const v of obs) h.observe(v);
      const f = parseExposition(`${h.render().join('\n')}\n`);
      const r = checkHistogram(f, 'x_seconds');
      assert.equal(r.count, obs.length);
      assert.equal(r.buckets[1][1], obs.filter((v) => v <= 1).length);
    }),
    { numRuns: 200 },
  );
});

test('label values with quotes, backslashes and newlines survive a round trip', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (s) => {
      const c = new Counter('t_total', 'help', ['reason']);
      c.inc([s]);
      const f = parseExposition(`${c.render().join('\n')}\n`);
      assert.deepEqual(f.get('t_total')?.samples[0]?.labels, { reason: s });
      assert.ok(!escapeLabelValue(s).includes('\n'));
    }),
    { numRuns: 300 },
  );
});

test('Counter caps its label sets and counts the rest as other', () => {
  const c = new Counter('t_total', 'help', ['outcome', 'reason'], 3);
  for (let i = 0; i < 10; i++) c.inc(['rejected', `r${i}`]);
  const f = parseExposition(`${c.render().join('\n')}\n`);
  assert.equal(f.get('t_total')?.samples.length, 4);
  assert.equal(value(f, 't_total', { outcome: 'other', reason: 'other' }), 7);
});

test('PrometheusMetrics reports NaN rather than failing when a gauge callback throws', () => {
  const m = new PrometheusMetrics({ clock: new ManualClock(NOW), probe });
  m.watch({ liveGrants: () => { throw new Error('boom'); } });
  const f = parseExposition(m.render());
  assert.ok(Number.isNaN(value(f, 'spagate_live_grants')));
});

test('the gateway feeds packets, grants and latency into the metrics when wired through createGateway', async () => {
  const metrics = new PrometheusMetrics({ clock: new ManualClock(NOW), probe });
  const s = stanza({ fwAccessTimeout: 30 });
  const gw = await startInProcess({ stanzas: [s], metrics, services: [metricsService(metrics)] });
  try {
    gw.knock({ src: '10.0.0.9' });
    gw.inject(Buffer.from('junk that is no SPA packet at all, but long enough to be looked at'.repeat(2)), '10.0.0.66');
    await gw.settle();
    const f = parseExposition(metrics.render());
    assert.equal(value(f, 'spagate_packets_total', { outcome: 'accepted', reason: 'granted' }), 1);
    const rejected = f.get('spagate_packets_total')!.samples.filter((x) => x.labels.outcome === 'rejected');
    assert.equal(rejected.reduce((a, x) => a + x.value, 0), 1, 'the junk packet is one rejection');
    assert.equal(value(f, 'spagate_live_grants'), 1, 'the live-grant gauge reads the gateway');
    assert.equal(checkHistogram(f, 'spagate_grant_latency_seconds').count, 1);

    gw.clock.advance(31_000);
    await gw.running.gateway.sweep();
    const g = parseExposition(metrics.render());
    assert.equal(value(g, 'spagate_live_grants'), 0);
    assert.equal(value(g, 'spagate_sweep_expired_grants_total'), 1);
    assert.ok(checkHistogram(g, 'spagate_sweep_duration_seconds').count >= 1);
  } finally {
    await gw.stop();
  }
  assert.equal(value(parseExposition(metrics.render()), 'spagate_live_grants'), 0, 'detached on stop');
});
