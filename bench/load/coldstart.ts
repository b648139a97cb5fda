/**
 * Cold start: exec the compiled server, poll GET /health until it answers 200;
 * the time from spawn to that answer. The server is pinned like the others.
 */
import { ErrorTally, describe } from "./check.ts";
import { percentile } from "./stats.ts";
import type { ScenarioResult, ScenarioSpec } from "./types.ts";

const START_DEADLINE_MS = 10_000;

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

async function once(cmd: string[], cores: string): Promise<number | string> {
  const port = freePort();
  const argv = [...(cores ? ["taskset", "-c", cores] : []), ...cmd, "--port", String(port)];
  const url = `http://127.0.0.1:${port}/health`;
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { stdout: "ignore", stderr: "ignore", stdin: "ignore" });
  try {
    for (let attempt = 0; attempt < 100_000 && performance.now() - t0 < START_DEADLINE_MS; attempt++) {
      try {
        const r = await fetch(url);
        await r.arrayBuffer();
        if (r.status === 200) return performance.now() - t0;
      } catch {
        // not listening yet
      }
      if (proc.exitCode !== null) return `exited with ${proc.exitCode}`;
    }
    return "no /health within deadline";
  } catch (e) {
    return describe(e);
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

export async function coldstart(spec: ScenarioSpec): Promise<ScenarioResult> {
  const cmd = spec.command ?? [];
  const errors = new ErrorTally();
  const times: number[] = [];
  await once(cmd, spec.serverCores ?? ""); // unmeasured: fills the page cache
  for (let i = 0; i < spec.count; i++) {
    const r = await once(cmd, spec.serverCores ?? "");
    if (typeof r === "string") errors.add(r);
    else times.push(r);
  }
  return {
    kind: "coldstart",
    metrics: { coldstart_p50_ms: percentile(times, 50), coldstart_min_ms: percentile(times, 0) },
    runs: spec.count,
    errors: errors.count,
    errorKinds: errors.kinds,
    notes: [],
  };
}
