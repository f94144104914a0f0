/**
 * Just enough of the Prometheus text exposition format (version 0.0.4) for spagate's own
 * metrics: labelled counters, histograms and gauges, written by hand so the daemon needs no
 * metrics library. Label sets are capped so a bug feeding unbounded values cannot grow memory.
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label values may hold anything; the format escapes backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and newline only. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  return `{${names.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? '')}"`).join(',')}}`;
}

function header(name: string, help: string, type: 'counter' | 'gauge' | 'histogram'): string[] {
  return [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
}

/** A monotonically increasing count per label set. */
export class Counter {
  private readonly series = new Map<string, { values: string[]; n: number }>();

  /**
   * @param maxSeries past this many label sets, new ones are counted under the label values
   *   given by `overflow` (every label set to "other").
   */
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly string[] = [],
    private readonly maxSeries = 500,
  ) {}

  inc(values: readonly string[] = [], by = 1): void {
    if (!(by >= 0)) return;
    let key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s && this.series.size >= this.maxSeries) {
      const other = this.labelNames.map(() => 'other');
      key = other.join('\u0000');
      s = this.series.get(key);
      values = other;
    }
    if (!s) {
      s = { values: [...values], n: 0 };
      this.series.set(key, s);
    }
    s.n += by;
  }

  render(): string[] {
    const out = header(this.name, this.help, 'counter');
    // A counter without labels is reported as 0 before its first increment.
    if (this.labelNames.length === 0 && this.series.size === 0) out.push(`${this.name} 0`);
    const rows = [...this.series.values()].sort((a, b) => a.values.join('\u0000').localeCompare(b.values.join('\u0000')));
    for (const s of rows) out.push(`${this.name}${labelText(this.labelNames, s.values)} ${formatValue(s.n)}`);
    return out;
  }
}

/** Observations into fixed upper bounds; rendered with cumulative buckets as the format wants. */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  readonly buckets: readonly number[];

  constructor(
    readonly name: string,
    private readonly help: string,
    buckets: readonly number[],
  ) {
    const sorted = [...new Set(buckets)].filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
    if (sorted.length === 0) throw new RangeError(`histogram ${name} needs at least one finite bucket`);
    this.buckets = sorted;
    this.counts = new Array<number>(sorted.length + 1).fill(0);
  }

  observe(v: number): void {
    if (Number.isNaN(v)) return;
    let i = this.buckets.findIndex((b) => v <= b);
    if (i < 0) i = this.buckets.length;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }

  render(): string[] {
    const out = header(this.name, this.help, 'histogram');
    let cum = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cum += this.counts[i];
      out.push(`${this.name}_bucket{le="${formatValue(this.buckets[i])}"} ${cum}`);
    }
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`);
    out.push(`${this.name}_sum ${formatValue(this.sum)}`);
    out.push(`${this.name}_count ${this.count}`);
    return out;
  }
}

/** A single value read at render time. */
export function gauge(name: string, help: string, value: number): string[] {
  return [...header(name, help, 'gauge'), `${name} ${formatValue(value)}`];
}

/** A counter whose total someone else keeps (e.g. CPU seconds), read at render time. */
export function counterValue(name: string, help: string, value: number): string[] {
  return [...header(name, help, 'counter'), `${name} ${formatValue(value)}`];
}
