/** Shapes passed between the orchestrator (bench/run.ts) and the load worker. */

export type ScenarioKind = "sse" | "ws" | "ttfe" | "fanout" | "idle" | "coldstart";

export interface ScenarioSpec {
  kind: ScenarioKind;
  /** Server base URL, e.g. http://127.0.0.1:41234 (not used by coldstart). */
  base: string;
  /** PID of the server under test, for /proc readings (0 when not applicable). */
  serverPid: number;
  /** The core the server is pinned to, or -1: other processes' load on it is reported. */
  serverCore: number;
  /** Text deltas per run (BOND_DEMO_BENCH_TOKENS) and their spacing (BOND_DEMO_DELAY_MS). */
  n: number;
  delayMs: number;
  /** sse/ws: concurrent clients; fanout/idle: concurrent streams; ttfe: sequential runs; coldstart: starts. */
  count: number;
  /** sse/ws: measured window; idle: hold time. */
  durationMs: number;
  /** sse/ws: unmeasured warm-up before the window. */
  warmupMs: number;
  /** coldstart: the command to exec (argv) and its port. */
  command?: string[];
  port?: number;
  /** taskset core list for a process the worker spawns (coldstart), or "" for none. */
  serverCores?: string;
}

export interface ScenarioResult {
  kind: ScenarioKind;
  /** Figures, by metric name (units in the name: _ms, _per_s, _pct, _kib). */
  metrics: Record<string, number>;
  /** Runs checked (or streams/starts attempted). */
  runs: number;
  /** Failed runs, and how they failed. */
  errors: number;
  errorKinds: Record<string, number>;
  notes: string[];
}
