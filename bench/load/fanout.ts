/**
 * Fan-out: `count` streams started together, N deltas D ms apart. Each
 * stream's ideal schedule is start + k·D with the start fitted as early as the
 * arrivals allow (no delta is early); lateness of delta k is how far behind
 * that schedule it arrived: the server's pacing drift and jitter under load.
 * Time to first event is ask → delta 0.
 */
import { ErrorTally } from "./check.ts";
import type { SseRunResult } from "./sse-client.ts";
import { sseRunner } from "./sse-runner.ts";
import { percentile } from "./stats.ts";
import type { ScenarioResult, ScenarioSpec } from "./types.ts";

export async function fanout(spec: ScenarioSpec): Promise<ScenarioResult> {
  const timeoutMs = 30_000 + spec.n * spec.delayMs * 2;
  const client = sseRunner(spec.base, "fetch");
  const start = (count: number) =>
    Promise.all(
      Array.from({ length: count }, async () => {
        const textTimes: number[] = [];
        const r = await client.run({ n: spec.n, prompt: "fan out", timeoutMs, textTimes });
        return { r, textTimes };
      }),
    );
  // Unmeasured: one round of the same size first. 20 streams were not enough to get the servers'
  // request paths past the JIT's first tiers, and the measured burst then ran half-compiled code
  // (Bond lateness p99 60 ms after 20, 12 ms after 500; the baseline 7.7 and 5.9).
  await start(spec.count);
  const all: { r: SseRunResult; textTimes: number[] }[] = await start(spec.count);
  client.close();
  const errors = new ErrorTally();
  const lateness: number[] = [];
  const firsts: number[] = [];
  for (const { r, textTimes } of all) {
    if (r.problem) {
      errors.add(r.problem);
      continue;
    }
    firsts.push((textTimes[0] ?? Number.NaN) - r.askAt);
    let start = Number.POSITIVE_INFINITY;
    for (let k = 0; k < textTimes.length; k++) start = Math.min(start, (textTimes[k] ?? Number.NaN) - k * spec.delayMs);
    for (let k = 0; k < textTimes.length; k++) lateness.push((textTimes[k] ?? Number.NaN) - (start + k * spec.delayMs));
  }
  return {
    kind: "fanout",
    metrics: {
      lateness_p50_ms: percentile(lateness, 50),
      lateness_p99_ms: percentile(lateness, 99),
      ttfe_p50_ms: percentile(firsts, 50),
      ttfe_p99_ms: percentile(firsts, 99),
    },
    runs: all.length,
    errors: errors.count,
    errorKinds: errors.kinds,
    notes: [],
  };
}
