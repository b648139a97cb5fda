/**
 * Throughput: `count` clients run ask + stream back to back (SSE) or prompt
 * after prompt on one socket each (WS) for warm-up + window. Text events/s is
 * counted inside the window only; run latency covers runs that started and
 * ended inside it. Every run, in or out of the window, is checked.
 */
import { ErrorTally } from "./check.ts";
import { CoreMeter, CpuMeter } from "./proc.ts";
import type { Counter } from "./sse-client.ts";
import { sseRunner } from "./sse-runner.ts";
import { percentile } from "./stats.ts";
import type { ScenarioResult, ScenarioSpec } from "./types.ts";
import { WsClient } from "./ws-client.ts";

const RUN_TIMEOUT_MS = 30_000;
const MAX_RUNS_PER_CLIENT = 1_000_000;

export async function throughput(spec: ScenarioSpec): Promise<ScenarioResult> {
  const counter: Counter = { texts: 0 };
  const errors = new ErrorTally();
  const latencies: number[] = [];
  let runs = 0;
  const t0 = performance.now();
  const winStart = t0 + spec.warmupMs;
  const winEnd = winStart + spec.durationMs;
  let textsAtStart = 0;
  let textsAtEnd = 0;
  const server = new CpuMeter(spec.serverPid);
  const client = new CpuMeter("self");
  const core = new CoreMeter(Math.max(0, spec.serverCore));
  let serverCpu = Number.NaN;
  let clientCpu = Number.NaN;
  let coreBusy = Number.NaN;
  // Snapshots at the window edges, taken by timers (not by the clients).
  const edges = (async () => {
    await Bun.sleep(winStart - performance.now());
    textsAtStart = counter.texts;
    await Promise.all([server.start(), client.start(), core.start()]);
    await Bun.sleep(Math.max(0, winEnd - performance.now()));
    textsAtEnd = counter.texts;
    [serverCpu, clientCpu, coreBusy] = await Promise.all([server.stop(), client.stop(), core.stop()]);
  })();

  const record = (problem: string | null, askAt: number, endAt: number) => {
    runs++;
    if (problem) errors.add(problem);
    else if (askAt >= winStart && endAt <= winEnd) latencies.push(endAt - askAt);
  };

  // fetch by default; BENCH_SSE_CLIENT=lean measures the lean client (the lead decides which one counts).
  const sse = sseRunner(spec.base, "fetch");
  const sseClient = async (): Promise<void> => {
    let sessionId: string | null = null;
    for (let i = 0; i < MAX_RUNS_PER_CLIENT && performance.now() < winEnd; i++) {
      const r = await sse.run({ n: spec.n, prompt: "bench run", sessionId, timeoutMs: RUN_TIMEOUT_MS, counter });
      record(r.problem, r.askAt, r.endAt);
      // Keep one session per client (multi-turn), as the WS clients do; start over after a failure.
      sessionId = r.problem ? null : r.sessionId;
    }
  };

  const wsClient = async (): Promise<void> => {
    let ws: WsClient | null = null;
    for (let i = 0; i < MAX_RUNS_PER_CLIENT && performance.now() < winEnd; i++) {
      if (!ws) {
        ws = new WsClient(spec.base, counter);
        const p = await ws.open(RUN_TIMEOUT_MS);
        if (p) {
          errors.add(p);
          ws = null;
          await Bun.sleep(100); // a refused socket must not spin
          continue;
        }
      }
      const r = await ws.run("bench run", spec.n, RUN_TIMEOUT_MS);
      record(r.problem, r.askAt, r.endAt);
      if (r.problem) {
        ws.close(); // its state is unknown now; a fresh socket keeps later runs clean
        ws = null;
      }
    }
    ws?.close();
  };

  const one = spec.kind === "ws" ? wsClient : sseClient;
  await Promise.all([edges, ...Array.from({ length: spec.count }, one)]);
  sse.close();
  const windowS = spec.durationMs / 1000;
  return {
    kind: spec.kind,
    metrics: {
      events_per_s: (textsAtEnd - textsAtStart) / windowS,
      // Per server CPU-second: steadier than events/s on a shared machine, and not capped by the client.
      events_per_cpu_s: (textsAtEnd - textsAtStart) / windowS / (serverCpu / 100),
      latency_p50_ms: percentile(latencies, 50),
      latency_p99_ms: percentile(latencies, 99),
      server_cpu_pct: serverCpu,
      client_cpu_pct: clientCpu,
      // What other processes took of the server's core: a noisy-neighbour indicator.
      others_on_server_core_pct: spec.serverCore >= 0 ? Math.max(0, coreBusy - serverCpu) : Number.NaN,
    },
    runs,
    errors: errors.count,
    errorKinds: errors.kinds,
    notes: latencies.length === 0 ? ["no run fit inside the window"] : [],
  };
}
