/** A strict reader of the Prometheus text format (0.0.4), for tests: every line must parse. */

export interface Exposition {
  /** `name{a="x",b="y"}` (labels sorted) → value. */
  readonly samples: ReadonlyMap<string, number>;
  /** Metric family → type. */
  readonly types: ReadonlyMap<string, string>;
  readonly helps: ReadonlySet<string>;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/;

export function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return parts.length > 0 ? `${name}{${parts.join(",")}}` : name;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = LABEL.exec(rest);
    if (!m) throw new Error(`bad labels in line: ${line}`);
    labels[m[1]!] = m[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    rest = rest.slice(m[0].length);
  }
  return labels;
}

function parseValue(raw: string, line: string): number {
  if (raw === "+Inf") return Infinity;
  if (raw === "-Inf") return -Infinity;
  if (raw === "NaN") return Number.NaN;
  const v = Number(raw);
  if (raw === "" || Number.isNaN(v)) throw new Error(`bad value in line: ${line}`);
  return v;
}

/** The family a sample belongs to (histogram samples carry suffixes). */
function family(name: string, types: ReadonlyMap<string, string>): string {
  if (types.has(name)) return name;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix) && types.get(name.slice(0, -suffix.length)) === "histogram") return name.slice(0, -suffix.length);
  }
  throw new Error(`sample ${name} has no # TYPE line before it`);
}

export function parseExposition(text: string): Exposition {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      const m = new RegExp(`^# HELP (${NAME}) .*$`).exec(line);
      if (!m) throw new Error(`bad HELP: ${line}`);
      helps.add(m[1]!);
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
      if (!m) throw new Error(`bad TYPE: ${line}`);
      if (types.has(m[1]!)) throw new Error(`TYPE given twice for ${m[1]}`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad line: ${JSON.stringify(line)}`);
    const name = m[1]!;
    const fam = family(name, types);
    if (!helps.has(fam)) throw new Error(`${fam} has no HELP`);
    const key = sampleKey(name, parseLabels(m[2] ?? "", line));
    if (samples.has(key)) throw new Error(`duplicate sample ${key}`);
    samples.set(key, parseValue(m[3]!, line));
  }
  return { samples, types, helps };
}

/** A sample's value; 0 when the series does not exist yet (counters start there). */
export function value(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  return exp.samples.get(sampleKey(name, labels)) ?? 0;
}

export async function scrape(base: string, headers: Record<string, string> = {}): Promise<Exposition> {
  const res = await fetch(`${base}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseExposition(await res.text());
}
