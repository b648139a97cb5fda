/**
 * A small hand-written Prometheus registry: counters, gauges and histograms
 * rendered in the text exposition format 0.0.4. Updating a metric is an
 * integer add (plus one Map lookup for labelled ones); all formatting happens
 * at scrape time.
 */

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface Metric {
  readonly name: string;
  /** Appends the metric's HELP, TYPE and sample lines. */
  render(out: string[]): void;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkNames(name: string, labelNames: readonly string[]): void {
  if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
  for (const l of labelNames) {
    if (!LABEL_NAME.test(l) || l.startsWith("__") || l === "le") throw new Error(`invalid label name ${JSON.stringify(l)}`);
  }
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}

function header(out: string[], name: string, help: string, type: string): void {
  out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
}

interface SeriesEntry<T> {
  readonly values: readonly string[];
  readonly data: T;
}

/** The label values of an unlabelled metric, shared: a default `[]` would be an array per call. */
const NO_LABELS: readonly string[] = Object.freeze([]);

/**
 * Values keyed by their label values, found through one map per label (a tree): no key string
 * is built per lookup (joining the values cost ~3 µs of every HTTP request's counting).
 */
class Series<T> {
  private readonly root = new Map<string, unknown>();
  private readonly list: SeriesEntry<T>[] = [];

  constructor(
    private readonly labelNames: readonly string[],
    private readonly make: () => T,
  ) {}

  get(values: readonly string[]): T {
    const n = this.labelNames.length;
    if (values.length !== n) {
      throw new Error(`expected ${n} label values, got ${values.length}`);
    }
    let node = this.root;
    for (let i = 0; i < n - 1; i++) {
      const value = values[i]!;
      let next = node.get(value) as Map<string, unknown> | undefined;
      if (!next) node.set(value, (next = new Map<string, unknown>()));
      node = next;
    }
    const last = n === 0 ? "" : values[n - 1]!;
    let entry = node.get(last) as SeriesEntry<T> | undefined;
    if (!entry) {
      entry = { values: values.slice(), data: this.make() };
      node.set(last, entry);
      this.list.push(entry);
    }
    return entry.data;
  }

  *entries(): Generator<[values: readonly string[], data: T]> {
    for (const { values, data } of this.list) yield [values, data];
  }

}

/** A monotonically increasing count. Name it `*_total`. */
export class Counter implements Metric {
  private readonly series: Series<{ value: number }>;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {
    checkNames(name, labelNames);
    this.series = new Series(labelNames, () => ({ value: 0 }));
    if (labelNames.length === 0) this.series.get([]); // an unlabelled counter shows 0 from the start
  }

  inc(by = 1, labelValues: readonly string[] = NO_LABELS): void {
    if (!(by >= 0)) return; // counters never go down; NaN is dropped too
    this.series.get(labelValues).value += by;
  }

  /** Makes a label combination visible (at 0) before its first increment. */
  touch(labelValues: readonly string[]): void {
    this.series.get(labelValues);
  }

  value(labelValues: readonly string[] = NO_LABELS): number {
    return this.series.get(labelValues).value;
  }

  render(out: string[]): void {
    header(out, this.name, this.help, "counter");
    for (const [values, data] of this.series.entries()) {
      out.push(`${this.name}${labelText(this.labelNames, values)} ${formatValue(data.value)}`);
    }
  }
}

/** A value read at scrape time from a callback (current sizes are read, not tracked). */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly read: () => Iterable<readonly [labelValues: readonly string[], value: number]>,
  ) {
    checkNames(name, labelNames);
  }

  render(out: string[]): void {
    header(out, this.name, this.help, "gauge");
    for (const [values, value] of this.read()) {
      out.push(`${this.name}${labelText(this.labelNames, values)} ${formatValue(value)}`);
    }
  }
}

/** Observations counted into fixed upper bounds (seconds, bytes, …); rendered cumulative, as Prometheus wants. */
export class Histogram implements Metric {
  readonly buckets: readonly number[];
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
  ) {
    checkNames(name, []);
    const sorted = [...new Set(buckets)].filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
    if (sorted.length === 0) throw new Error("a histogram needs at least one finite bucket");
    this.buckets = sorted;
    this.counts = new Array<number>(sorted.length).fill(0);
  }

  observe(v: number): void {
    if (Number.isNaN(v)) return;
    this.sum += v;
    this.count++;
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  get observations(): number {
    return this.count;
  }

  render(out: string[]): void {
    header(out, this.name, this.help, "histogram");
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i]!;
      out.push(`${this.name}_bucket{le="${formatValue(this.buckets[i]!)}"} ${cumulative}`);
    }
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${formatValue(this.sum)}`, `${this.name}_count ${this.count}`);
  }
}

/** Metrics in the order they are rendered. */
export class Registry {
  private readonly metrics: Metric[] = [];
  private readonly names = new Set<string>();

  add<M extends Metric>(metric: M): M {
    if (this.names.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.names.add(metric.name);
    this.metrics.push(metric);
    return metric;
  }

  render(): string {
    const out: string[] = [];
    for (const m of this.metrics) m.render(out);
    return out.join("\n") + "\n";
  }
}
