/**
 * Turns the per-run results into the summary (median of runs; ratios taken
 * per run against that run's baseline, then the median) and renders the
 * markdown written to BENCHMARKS.md.
 */
import type { Step } from "./plan.ts";
import { median } from "./stats.ts";
import type { ScenarioResult } from "./types.ts";

export type Role = "baseline" | "candidate";

export interface Sample {
  run: number;
  step: string;
  role: Role;
  result: ScenarioResult | null;
  /** Why there is no result (the step failed to run or was skipped). */
  failure?: string;
}

interface Target {
  step: string;
  metric: string;
  on: "ratio" | "abs";
  op: ">=" | "<=" | "==";
  value: number;
}

/** Issue 5's targets. */
export function targets(steps: Step[]): Target[] {
  const t: Target[] = [];
  for (const s of steps) {
    t.push({ step: s.id, metric: "errors", on: "abs", op: "==", value: 0 });
    if (s.kind === "sse") t.push({ step: s.id, metric: "events_per_s", on: "ratio", op: ">=", value: 0.8 });
    if (s.kind === "ws") t.push({ step: s.id, metric: "events_per_s", on: "ratio", op: ">=", value: 0.85 });
    if (s.id === "sse-200") t.push({ step: s.id, metric: "latency_p99_ms", on: "ratio", op: "<=", value: 1.5 });
    if (s.kind === "ttfe") {
      t.push({ step: s.id, metric: "ttfe_p50_ms", on: "ratio", op: "<=", value: 2 });
      t.push({ step: s.id, metric: "ttfe_p99_ms", on: "abs", op: "<=", value: 1 });
    }
    if (s.kind === "fanout") t.push({ step: s.id, metric: "lateness_p99_ms", on: "ratio", op: "<=", value: 2 });
    if (s.kind === "idle") {
      t.push({ step: s.id, metric: "held", on: "abs", op: "==", value: s.count });
      t.push({ step: s.id, metric: "rss_per_stream_kib", on: "ratio", op: "<=", value: 2 });
      t.push({ step: s.id, metric: "server_cpu_pct", on: "abs", op: "<=", value: 1 });
    }
    if (s.kind === "coldstart") t.push({ step: s.id, metric: "coldstart_p50_ms", on: "abs", op: "<=", value: 30 });
  }
  return t;
}

const SHOWN: Record<Step["kind"], string[]> = {
  sse: ["events_per_s", "events_per_cpu_s", "latency_p50_ms", "latency_p99_ms", "server_cpu_pct"],
  ws: ["events_per_s", "events_per_cpu_s", "latency_p50_ms", "latency_p99_ms", "server_cpu_pct"],
  ttfe: ["ttfe_p50_ms", "ttfe_p99_ms", "ttfe_p99_undisturbed_ms", "disturbed_runs_pct", "warmup_runs", "jit_ms_while_measured"],
  fanout: ["lateness_p50_ms", "lateness_p99_ms", "ttfe_p50_ms", "ttfe_p99_ms", "warmup_rounds", "jit_ms_while_measured"],
  idle: ["held", "rss_per_stream_kib", "server_cpu_pct", "server_cpu_late_pct", "server_rss_mib", "ramp_ms"],
  coldstart: ["coldstart_p50_ms", "coldstart_min_ms"],
};

export interface Row {
  step: string;
  metric: string;
  baseline: number;
  candidate: number;
  ratio: number;
  target: string;
  pass: boolean | null;
}

function metricOf(r: ScenarioResult, metric: string): number {
  return metric === "errors" ? r.errors : (r.metrics[metric] ?? Number.NaN);
}

/** Errors add up over runs and "held" takes the worst run; everything else is the median. */
function combine(metric: string, values: number[]): number {
  if (values.length === 0) return Number.NaN;
  if (metric === "errors") return values.reduce((a, b) => a + b, 0);
  if (metric === "held") return Math.min(...values);
  return median(values);
}

export function summarise(steps: Step[], samples: Sample[]): Row[] {
  const rows: Row[] = [];
  const tgs = targets(steps);
  for (const s of steps) {
    const mine = samples.filter((x) => x.step === s.id);
    const runs = [...new Set(mine.map((x) => x.run))];
    for (const metric of ["errors", ...SHOWN[s.kind]]) {
      const abs = (role: Role) =>
        combine(metric, mine.filter((x) => x.role === role && x.result).map((x) => metricOf(x.result as ScenarioResult, metric)));
      const ratios: number[] = [];
      for (const run of runs) {
        const b = mine.find((x) => x.run === run && x.role === "baseline")?.result;
        const c = mine.find((x) => x.run === run && x.role === "candidate")?.result;
        if (b && c) ratios.push(metricOf(c, metric) / metricOf(b, metric));
      }
      const row: Row = { step: s.id, metric, baseline: abs("baseline"), candidate: abs("candidate"), ratio: median(ratios), target: "", pass: null };
      const t = tgs.find((x) => x.step === s.id && x.metric === metric);
      if (t) {
        const v = t.on === "ratio" ? row.ratio : row.candidate;
        row.target = `${t.on === "ratio" ? "ratio " : ""}${t.op === "==" ? "=" : t.op === ">=" ? "≥" : "≤"} ${t.value}${t.on === "abs" && metric.endsWith("_ms") ? " ms" : t.on === "abs" && metric.endsWith("_pct") ? " %" : ""}`;
        row.pass = Number.isFinite(v) ? (t.op === ">=" ? v >= t.value : t.op === "<=" ? v <= t.value : v === t.value) : false;
      }
      rows.push(row);
    }
  }
  return rows;
}

function fmt(metric: string, v: number): string {
  if (!Number.isFinite(v)) return "–";
  if (metric === "errors" || metric === "held") return String(v);
  if (metric.endsWith("_per_s")) return Math.round(v).toLocaleString("en-US");
  if (metric.endsWith("_pct")) return v.toFixed(2);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

const UNITS: Record<string, string> = {
  events_per_s: "text events/s",
  events_per_cpu_s: "text events per server CPU-s",
  latency_p50_ms: "run latency p50 (ms)",
  latency_p99_ms: "run latency p99 (ms)",
  server_cpu_pct: "server CPU %",
  ttfe_p50_ms: "first event p50 (ms)",
  ttfe_p99_ms: "first event p99 (ms)",
  ttfe_p99_undisturbed_ms: "first event p99, runs not delayed by the scheduler (ms, diagnosis)",
  disturbed_runs_pct: "runs where a main thread waited ≥ 0.1 ms for its core (%)",
  warmup_runs: "unmeasured runs until the server's JIT settled",
  warmup_rounds: "unmeasured rounds of 1 000 streams until the server's JIT settled",
  jit_ms_while_measured: "server's JIT threads while measured (CPU ms)",
  lateness_p50_ms: "lateness p50 (ms)",
  lateness_p99_ms: "lateness p99 (ms)",
  held: "streams held (worst run)",
  rss_per_stream_kib: "server RSS per stream (KiB)",
  server_cpu_late_pct: "server CPU %, second half of the hold (diagnosis)",
  server_rss_mib: "server RSS at end of hold (MiB)",
  ramp_ms: "time to open all streams (ms)",
  coldstart_p50_ms: "exec → /health p50 (ms)",
  coldstart_min_ms: "exec → /health min (ms)",
  errors: "errors (all runs)",
};

export interface Meta {
  date: string;
  machine: string;
  bun: string;
  commit: string;
  runs: number;
  quick: boolean;
  pinning: string;
  candidate: string;
  notes: string[];
}

export function markdown(meta: Meta, steps: Step[], rows: Row[], samples: Sample[]): string {
  const L: string[] = [];
  const passed = rows.filter((r) => r.pass === true).length;
  const judged = rows.filter((r) => r.pass !== null).length;
  L.push("# Benchmarks", "");
  L.push("Generated by `bun run bench` (bench/run.ts); do not edit by hand.", "");
  L.push(`- Date: ${meta.date}`);
  L.push(`- Machine: ${meta.machine}`);
  L.push(`- Bun: ${meta.bun}; commit ${meta.commit}`);
  L.push(`- Mode: ${meta.quick ? "**--quick** (smaller counts, shorter holds: not the issue's sizes)" : "full"}; ${meta.runs} run(s), median shown`);
  L.push(`- Pinning: ${meta.pinning}`);
  L.push(`- Compared: ${meta.candidate} against the baseline (bench/baseline-server.ts: bare \`Bun.serve\`, no framework, no validation, no event log)`);
  L.push(`- Targets met: ${passed} of ${judged}`, "");
  L.push("Every figure is the median over runs; the ratio is candidate / baseline, taken per run (each run measures both, back to back, on a fresh server) and then the median. Errors are summed over runs; streams held is the worst run.", "");
  L.push("| scenario | metric | baseline | candidate | ratio | target | |", "|---|---|---:|---:|---:|---|---|");
  for (const r of rows) {
    const mark = r.pass === null ? "" : r.pass ? "pass" : "**FAIL**";
    L.push(`| ${r.step} | ${UNITS[r.metric] ?? r.metric} | ${fmt(r.metric, r.baseline)} | ${fmt(r.metric, r.candidate)} | ${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : "–"} | ${r.target} | ${mark} |`);
  }
  L.push("");
  const kinds: string[] = [];
  for (const x of samples) {
    if (x.failure) kinds.push(`- run ${x.run}, ${x.step}, ${x.role}: ${x.failure}`);
    if (x.result && x.result.errors > 0) kinds.push(`- run ${x.run}, ${x.step}, ${x.role}: ${x.result.errors} failed of ${x.result.runs}: ${JSON.stringify(x.result.errorKinds)}`);
    for (const n of x.result?.notes ?? []) kinds.push(`- run ${x.run}, ${x.step}, ${x.role}: ${n}`);
    const others = x.result?.metrics.others_on_server_core_pct;
    if (others !== undefined && others >= 15) kinds.push(`- run ${x.run}, ${x.step}, ${x.role}: other processes took ${others.toFixed(0)} % of the server's core during the window — noisy`);
    const ccpu = x.result?.metrics.client_cpu_pct;
    if (ccpu !== undefined && ccpu >= 90) kinds.push(`- run ${x.run}, ${x.step}, ${x.role}: load generator at ${ccpu.toFixed(0)} % CPU — this figure may be bound by the client`);
  }
  if (kinds.length || meta.notes.length) L.push("## Errors and notes", "", ...meta.notes.map((n) => `- ${n}`), ...kinds, "");
  L.push("## Scenarios", "");
  for (const s of steps) L.push(`- **${s.id}**: ${describeStep(s)}`);
  L.push("", "Every run is checked: ids `<run>:<seq>` with no gaps, exactly N `text` events, one terminal `complete` whose data equals the joined deltas, nothing after it, and the stream closed within 2 s of it (SSE also: `retry:` before the first event; WS: a `session` frame before it and `done` after the terminal). A run that fails any check counts as one error and is left out of the latency figures.", "");
  L.push("## Reading the figures", "");
  L.push("- Each step starts a fresh server (pinned to one core) and a fresh load worker (pinned to the other), so no step inherits another's sessions or heap.");
  L.push("- The machine is shared: absolute figures drift between runs, ratios much less. *Text events per server CPU-s* divides throughput by the server's own CPU time (from `/proc/<pid>/stat`), so it is neither capped by the load generator nor lowered by other processes stealing the core: when the load generator is saturated (see the notes), trust that row over events/s, whose ratio then flatters the slower server.");
  L.push("- Fan-out lateness: each stream's ideal schedule is start + k·D, with the start fitted as early as its arrivals allow; both servers pause D before every delta, the first included.");
  L.push("- Server RSS per stream is VmRSS after the hold minus VmRSS of the fresh server, divided by the streams held: it includes each stream's session and run, not only its socket.", "");
  L.push("## Running it", "");
  L.push("```", "bun run bench                      # full: 3 runs, about 10–15 min", "bun run bench --quick --runs 1     # smaller counts, 12 s idle hold: for development", "bun run bench --only sse,ttfe      # some scenarios (prefixes: sse, ws, sse-200, ttfe, fanout, idle, coldstart)", "bun run bench --candidate baseline # baseline against itself: checks the harness", "```", "");
  L.push("Raw per-run JSON goes to `bench/results/<timestamp>.json` (git-ignored).", "");
  return L.join("\n");
}

function describeStep(s: Step): string {
  switch (s.kind) {
    case "sse":
      return `${s.count} client(s), each: POST /ask + GET /stream back to back (one session per client), N=${s.n}, D=0; ${s.warmupMs} ms warm-up, ${s.durationMs} ms window.`;
    case "ws":
      return `${s.count} client(s), one WebSocket each, prompts back to back, N=${s.n}, D=0; ${s.warmupMs} ms warm-up, ${s.durationMs} ms window.`;
    case "ttfe":
      return `${s.count} sequential runs, new session each, after unmeasured ones until the server's JIT settled (3 windows of 1 000 runs in a row each costing its JIT threads < 2 ms of CPU; see the warm-up row), N=${s.n}, D=0: POST /ask sent → first \`text\` received; lean keep-alive HTTP/1.1 client (bench/load/http1.ts), not fetch.`;
    case "fanout":
      return `${s.count} streams started together, after unmeasured rounds of 1 000 streams until the server's JIT settled (2 rounds in a row each costing its JIT threads < 5 ms of CPU; see the warm-up row; a measured round during which they used ≥ 5 ms anyway is discarded and measured again, at most 3 times, and noted below), N=${s.n}, D=${s.delayMs} ms; on both servers a run starts at its POST /ask (API.md), so deltas due before the stream connects arrive together; lateness of delta k = arrival − (fitted start + k·D); lean keep-alive HTTP/1.1 client, as for time to first event.`;
    case "idle":
      return `${s.count} SSE streams opened (200 at a time), then held ${s.durationMs / 1000} s with no events (N=${s.n}, D=${s.delayMs / 1000} s); held = still open with a valid prefix; RSS per stream = VmRSS growth / streams held; CPU over the hold (the target), and over its second half alone.`;
    case "coldstart":
      return `${s.count} starts of the compiled binary (after one unmeasured): exec → first 200 from GET /health.`;
  }
}
