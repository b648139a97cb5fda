/**
 * Time to first event: ask → first `text` over SSE, sequential runs, new
 * session each, on the lean HTTP/1.1 client (keep-alive: after the first run
 * no connection is opened). fetch's own per-request machinery cost about as
 * much as the baseline server's work and added its own tail.
 */
import { ErrorTally } from "./check.ts";
import { runQueueWaitMs } from "./proc.ts";
import { sseRunner } from "./sse-runner.ts";
import { percentile } from "./stats.ts";
import type { ScenarioResult, ScenarioSpec } from "./types.ts";

/**
 * Unmeasured (but checked) runs first. The servers' JIT threads, pinned to the
 * server's core, compile for the first few hundred runs and take the core from
 * the main thread (measured: Bond's JIT threads used 20-40 ms per 200 runs up
 * to run ~600, under 8 ms after), which showed up as the tail.
 */
export const WARMUP_RUNS = 600;
const RUN_TIMEOUT_MS = 10_000;
/** A run counts as disturbed when the server's or the client's main thread waited this long for a CPU. */
const DISTURBED_WAIT_MS = 0.1;
const DEADLINE_MS = 120_000;

export async function ttfe(spec: ScenarioSpec): Promise<ScenarioResult> {
  const errors = new ErrorTally();
  const firsts: number[] = [];
  // Runs in which neither main thread had to wait for its core: what the servers themselves do.
  const undisturbed: number[] = [];
  const deadline = performance.now() + DEADLINE_MS;
  let runs = 0;
  const client = sseRunner(spec.base, "lean");
  for (let i = 0; i < WARMUP_RUNS + spec.count && performance.now() < deadline; i++) {
    const w0 = runQueueWaitMs(spec.serverPid) + runQueueWaitMs("self");
    const r = await client.run({ n: spec.n, prompt: "first event", timeoutMs: RUN_TIMEOUT_MS });
    const waited = runQueueWaitMs(spec.serverPid) + runQueueWaitMs("self") - w0;
    runs++;
    if (r.problem) errors.add(r.problem);
    else if (i >= WARMUP_RUNS) {
      firsts.push(r.firstTextAt - r.askAt);
      if (waited < DISTURBED_WAIT_MS) undisturbed.push(r.firstTextAt - r.askAt);
    }
  }
  client.close();
  return {
    kind: "ttfe",
    metrics: {
      ttfe_p50_ms: percentile(firsts, 50),
      ttfe_p99_ms: percentile(firsts, 99),
      // Diagnosis, not the target: the shared machine's other processes (and the servers' own
      // JIT threads) delay some runs by a scheduler slice (~3-5 ms); these figures leave them out.
      ttfe_p99_undisturbed_ms: percentile(undisturbed, 99),
      disturbed_runs_pct: firsts.length ? (100 * (firsts.length - undisturbed.length)) / firsts.length : Number.NaN,
    },
    runs,
    errors: errors.count,
    errorKinds: errors.kinds,
    notes: firsts.length < spec.count ? [`only ${firsts.length} of ${spec.count} runs measured`] : [],
  };
}
