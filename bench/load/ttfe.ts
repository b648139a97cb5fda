/** Time to first event: ask → first `text` over SSE, sequential runs, new session each. */
import { ErrorTally } from "./check.ts";
import { sseRun } from "./sse-client.ts";
import { percentile } from "./stats.ts";
import type { ScenarioResult, ScenarioSpec } from "./types.ts";

const WARMUP_RUNS = 20;
const RUN_TIMEOUT_MS = 10_000;
const DEADLINE_MS = 120_000;

export async function ttfe(spec: ScenarioSpec): Promise<ScenarioResult> {
  const errors = new ErrorTally();
  const firsts: number[] = [];
  const deadline = performance.now() + DEADLINE_MS;
  let runs = 0;
  for (let i = 0; i < WARMUP_RUNS + spec.count && performance.now() < deadline; i++) {
    const r = await sseRun({ base: spec.base, n: spec.n, prompt: "first event", timeoutMs: RUN_TIMEOUT_MS });
    runs++;
    if (r.problem) errors.add(r.problem);
    else if (i >= WARMUP_RUNS) firsts.push(r.firstTextAt - r.askAt);
  }
  return {
    kind: "ttfe",
    metrics: { ttfe_p50_ms: percentile(firsts, 50), ttfe_p99_ms: percentile(firsts, 99) },
    runs,
    errors: errors.count,
    errorKinds: errors.kinds,
    notes: firsts.length < spec.count ? [`only ${firsts.length} of ${spec.count} runs measured`] : [],
  };
}
