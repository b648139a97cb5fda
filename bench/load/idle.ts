/**
 * Idle streams: open `count` SSE streams whose runs wait for their deltas far
 * longer than the hold, keep them for `durationMs`, then count the streams
 * still open with a valid prefix (a stream is open once its 200 arrived). Server RSS per stream is the VmRSS growth
 * over the opened streams; server CPU % is read over the hold.
 */
import { ErrorTally } from "./check.ts";
import { CpuMeter, rssKiB } from "./proc.ts";
import { type SseRunResult, sseRun } from "./sse-client.ts";
import type { ScenarioResult, ScenarioSpec } from "./types.ts";

/** Streams being opened at once during the ramp. */
const RAMP_PARALLEL = 200;
const RAMP_DEADLINE_MS = 120_000;
const SETTLE_MS = 2_000;

export async function idle(spec: ScenarioSpec): Promise<ScenarioResult> {
  const notes: string[] = [];
  const stop = new AbortController();
  const timeoutMs = RAMP_DEADLINE_MS + SETTLE_MS + spec.durationMs + 30_000;
  const rss0 = await rssKiB(spec.serverPid);
  let opened = 0;
  const runs: Promise<SseRunResult>[] = [];
  const rampStart = performance.now();
  // Ramp: at most RAMP_PARALLEL asks + stream requests in flight at a time.
  for (let i = 0; i < spec.count && performance.now() - rampStart < RAMP_DEADLINE_MS; i++) {
    while (runs.length - opened >= RAMP_PARALLEL && performance.now() - rampStart < RAMP_DEADLINE_MS) await Bun.sleep(1);
    let done = false;
    const run = sseRun({
      base: spec.base,
      n: spec.n,
      prompt: "idle stream",
      timeoutMs,
      stop: stop.signal,
      onOpen: () => {
        if (!done) opened++;
        done = true;
      },
    }).then((r) => {
      // A run that failed before its stream opened frees its ramp slot too.
      if (!done) opened++;
      done = true;
      return r;
    });
    runs.push(run);
  }
  while (opened < runs.length && performance.now() - rampStart < RAMP_DEADLINE_MS) await Bun.sleep(10);
  const rampMs = performance.now() - rampStart;
  await Bun.sleep(SETTLE_MS);
  const cpu = new CpuMeter(spec.serverPid);
  await cpu.start();
  await Bun.sleep(spec.durationMs / 2);
  // The second half alone, for diagnosis: the collection that follows the ramp's allocations
  // (tens of ms, once) tends to land in the first half; what is left is the cost of holding.
  const lateCpu = new CpuMeter(spec.serverPid);
  await lateCpu.start();
  await Bun.sleep(spec.durationMs / 2);
  const cpuPct = await cpu.stop();
  const lateCpuPct = await lateCpu.stop();
  const rss1 = await rssKiB(spec.serverPid);
  stop.abort();
  const results = await Promise.all(runs);
  const errors = new ErrorTally();
  let held = 0;
  for (const r of results) {
    if (r.held) held++;
    else errors.add(r.problem ?? "finished before the hold ended");
  }
  if (runs.length < spec.count) notes.push(`only ${runs.length} of ${spec.count} streams started before the ramp deadline`);
  return {
    kind: "idle",
    metrics: {
      held,
      rss_per_stream_kib: (rss1 - rss0) / Math.max(1, held),
      server_rss_mib: rss1 / 1024,
      server_cpu_pct: cpuPct,
      server_cpu_late_pct: lateCpuPct,
      ramp_ms: rampMs,
    },
    runs: results.length,
    errors: errors.count,
    errorKinds: errors.kinds,
    notes,
  };
}
