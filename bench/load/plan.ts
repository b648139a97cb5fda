/** The benchmark's steps (issue 5's scenarios) and their sizes, full or --quick. */
import type { ScenarioKind } from "./types.ts";

export interface Step {
  /** Name used in tables and by --only (prefix match: "sse" selects sse-1, sse-50, sse-200). */
  id: string;
  kind: ScenarioKind;
  n: number;
  delayMs: number;
  count: number;
  durationMs: number;
  warmupMs: number;
  /** Upper bound for the worker process, killed past it. */
  timeoutMs: number;
}

export interface Overrides {
  /** Idle hold in seconds. */
  holdS?: number;
  /** Idle stream count. */
  idleStreams?: number;
}

export function plan(quick: boolean, o: Overrides = {}): Step[] {
  const window = quick ? 1500 : 4000;
  const warmup = quick ? 500 : 1000;
  const hold = (o.holdS ?? (quick ? 12 : 40)) * 1000; // full: longer than Elysia's 30 s idle timeout
  const steps: Step[] = [];
  for (const kind of ["sse", "ws"] as const)
    for (const clients of [1, 50, 200])
      steps.push({ id: `${kind}-${clients}`, kind, n: 200, delayMs: 0, count: clients, durationMs: window, warmupMs: warmup, timeoutMs: 90_000 });
  // A p99 needs many samples: over 300 runs it is the 3rd worst one.
  steps.push({ id: "ttfe", kind: "ttfe", n: 1, delayMs: 0, count: quick ? 1000 : 3000, durationMs: 0, warmupMs: 0, timeoutMs: 180_000 });
  steps.push({ id: "fanout", kind: "fanout", n: 40, delayMs: 50, count: quick ? 200 : 500, durationMs: 0, warmupMs: 0, timeoutMs: 120_000 });
  // Deltas 10 holds apart: the streams stay silent (heartbeats aside) for the whole hold.
  steps.push({ id: "idle", kind: "idle", n: 2, delayMs: hold * 10, count: o.idleStreams ?? (quick ? 1000 : 5000), durationMs: hold, warmupMs: 0, timeoutMs: hold + 240_000 });
  steps.push({ id: "coldstart", kind: "coldstart", n: 1, delayMs: 0, count: quick ? 5 : 10, durationMs: 0, warmupMs: 0, timeoutMs: 120_000 });
  return steps;
}

/** Keeps the steps whose id starts with one of the comma-separated names. */
export function select(steps: Step[], only: string | null): Step[] {
  if (!only) return steps;
  const names = only.split(",").map((s) => s.trim()).filter(Boolean);
  return steps.filter((s) => names.some((n) => s.id === n || s.id.startsWith(`${n}-`) || s.kind === n));
}
