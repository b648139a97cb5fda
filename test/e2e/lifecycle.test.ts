/**
 * The server as a process (API.md §4–5): start-up errors, --help, graceful
 * SIGTERM/SIGINT with live SSE and WS subscribers, and a stream that stays
 * silent for longer than the server's idle timeout.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DEFAULT_CONFIG, type ServerConfig } from "../../src/config.ts";
import { checkRunInvariants, fromSse, fromWs, type RunEvent } from "../helpers/invariants.ts";
import { killSpawned, runBond, spawnBond, type BondProcess } from "../helpers/process.ts";
import { ask, askOk } from "../helpers/server.ts";
import { openSse, type SseStream } from "../helpers/sse.ts";
import { openWs } from "../helpers/ws.ts";

/** A prompt the demo model answers with a long streamed reply (~70 events). */
const GENERIC = "Tell me about the weather in Paris please";

/** Elysia's idleTimeout (30 s) plus Bun's timer slack (measured: a silent stream is cut at ~32 s). */
const SILENCE_MS = 35_000;

afterAll(killSpawned);

function envName(key: keyof ServerConfig): string {
  return key.startsWith("openai_") ? key.toUpperCase() : `BOND_${key.toUpperCase()}`;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Started first so its long silence overlaps the other tests; checked by the
 * last test. One bench delta after SILENCE_MS: nothing at all is written in
 * between (the heartbeat is set far beyond the silence).
 */
let silent: { proc: BondProcess; stream: SseStream; startedAt: number } | null = null;

beforeAll(async () => {
  const proc = await spawnBond({
    env: { BOND_DEMO_BENCH_TOKENS: "1", BOND_DEMO_DELAY_MS: String(SILENCE_MS), BOND_HEARTBEAT_SECONDS: "600" },
  });
  const id = await askOk(proc.url, "stay quiet for a while");
  const stream = await openSse(`${proc.url}/stream/${id}`);
  silent = { proc, stream, startedAt: Date.now() };
});

describe("start-up", () => {
  const cases: { name: string; args: string[]; env?: Record<string, string>; names: string }[] = [
    { name: "--port abc", args: ["--port", "abc"], names: "--port" },
    { name: "BOND_SESSION_TIMEOUT_SECONDS=-1", args: [], env: { BOND_SESSION_TIMEOUT_SECONDS: "-1" }, names: "BOND_SESSION_TIMEOUT_SECONDS" },
    { name: "--model nope", args: ["--model", "nope"], names: "--model" },
  ];
  for (const c of cases) {
    test(`${c.name}: exit 2 with one line on stderr naming it`, async () => {
      const res = await runBond(["--host", "127.0.0.1", ...c.args], { env: c.env });
      expect(res.code).toBe(2);
      const lines = res.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(c.names);
      expect(res.stdout).not.toContain("Bond listening");
    });
  }

  test("--help exits 0 and lists every option with its variable", async () => {
    const res = await runBond(["--help"]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    for (const key of Object.keys(DEFAULT_CONFIG) as (keyof ServerConfig)[]) {
      expect(res.stdout).toContain(`--${key.replaceAll("_", "-")} `);
      expect(res.stdout).toContain(envName(key));
    }
    for (const name of ["--demo-bench-tokens", "BOND_API_KEYS", "--shutdown-grace-seconds", "BOND_HEARTBEAT_SECONDS", "OPENAI_BASE_URL"]) {
      expect(res.stdout).toContain(name);
    }
  });
});

describe("graceful shutdown", () => {
  test("SIGTERM mid-run: subscribers get usage + cancelled, /ask gets 503, WS closes 1001, exit 0", async () => {
    const graceSeconds = 1;
    const proc = await spawnBond({ env: { BOND_DEMO_DELAY_MS: "50", BOND_SHUTDOWN_GRACE_SECONDS: String(graceSeconds) } });
    const ws = await openWs(proc.wsUrl);
    ws.send({ prompt: GENERIC });
    const sessionFrame = ws.frames[await ws.waitFor((f) => f.t === "session")]!;
    const sessionId = sessionFrame.session_id as string;
    const sse = await openSse(`${proc.url}/stream/${sessionId}`);
    expect(sse.status).toBe(200);
    await sse.waitForEvents(5);

    const signalledAt = Date.now();
    proc.signal("SIGTERM");
    await proc.waitForStdout("SIGTERM received", 3000);

    // The listener stays open during the grace, but refuses new runs at once.
    const refused = await ask(proc.url, { prompt: "one more?" });
    expect(refused.status).toBe(503);
    expect(typeof refused.json.error).toBe("string");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);

    const wsRefusedFrom = ws.frames.length;
    ws.send({ prompt: "one more over WS?", new_session: true });
    const wsRefused = ws.frames[await ws.waitFor((f) => f.t === "error" && f.i === undefined, wsRefusedFrom, 3000)]!;
    expect(wsRefused.code).toBe("unavailable");

    // Streams of existing runs still work: a late subscriber gets the whole run.
    const late = await openSse(`${proc.url}/stream/${sessionId}`);
    expect(late.status).toBe(200);

    await within(Promise.all([sse.done, late.done]), (graceSeconds + 5) * 1000, "the SSE streams to end");
    const closed = await within(ws.closed, (graceSeconds + 5) * 1000, "the WebSocket to close");
    expect(closed.code).toBe(1001);
    const code = await proc.waitForExit((graceSeconds + 5) * 1000);
    const exitMs = Date.now() - signalledAt;
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan((graceSeconds + 5) * 1000);

    const runs: RunEvent[][] = [fromSse(sse.events), fromSse(late.events), fromWs(ws.frames)];
    for (const events of runs) {
      const terminal = checkRunInvariants(events);
      expect(terminal.type).toBe("cancelled");
      expect(terminal.data.reason).toBe("server shutting down");
      expect(events[events.length - 2]!.type).toBe("usage");
    }
    // Every subscriber saw the same run, event for event.
    const shape = (events: RunEvent[]) => events.map((e) => `${e.id} ${e.type}`);
    expect(shape(runs[0]!)).toEqual(shape(runs[2]!));
    expect(shape(runs[1]!)).toEqual(shape(runs[2]!));
    // The run really was cut short: the demo's reply did not finish.
    expect(runs[2]!.length).toBeLessThan(60);
    // WS: {"t":"done"} after the terminal event.
    const terminalAt = ws.frames.findIndex((f) => f.t === "cancelled");
    expect(ws.frames.slice(terminalAt + 1).some((f) => f.t === "done")).toBe(true);
  }, 30_000);

  test("SIGINT with no runs (one idle WebSocket): exit 0 promptly", async () => {
    const proc = await spawnBond();
    const ws = await openWs(proc.wsUrl);
    const signalledAt = Date.now();
    proc.signal("SIGINT");
    const code = await proc.waitForExit(5000);
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(3000);
    expect((await within(ws.closed, 2000, "the WebSocket to close")).code).toBe(1001);
  }, 20_000);

  test("SIGTERM while a short run finishes within the grace: it completes, exit 0", async () => {
    const graceSeconds = 5;
    const proc = await spawnBond({ env: { BOND_DEMO_DELAY_MS: "50", BOND_SHUTDOWN_GRACE_SECONDS: String(graceSeconds) } });
    const id = await askOk(proc.url, "What is 12*7?");
    const sse = await openSse(`${proc.url}/stream/${id}`);
    await sse.waitForEvents(3);

    const signalledAt = Date.now();
    proc.signal("SIGTERM");
    await within(sse.done, graceSeconds * 1000, "the run to finish");
    const terminal = checkRunInvariants(fromSse(sse.events));
    expect(terminal.type).toBe("complete");
    expect(terminal.data.data).toContain("84");

    const code = await proc.waitForExit((graceSeconds + 5) * 1000);
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan((graceSeconds + 5) * 1000);
  }, 30_000);
});

describe("idle timeout", () => {
  test(`an SSE stream silent for ${SILENCE_MS / 1000} s (past Elysia's 30 s idleTimeout) is not cut`, async () => {
    expect(silent).not.toBeNull();
    const { proc, stream, startedAt } = silent!;
    await within(stream.done, SILENCE_MS + 15_000 - (Date.now() - startedAt), "the silent stream to end");
    const lasted = Date.now() - startedAt;
    if (!stream.events.some((e) => e.event === "complete")) {
      throw new Error(`the stream was cut after ${lasted} ms of silence, with no terminal event`);
    }
    expect(lasted).toBeGreaterThanOrEqual(SILENCE_MS - 1000);
    expect(stream.comments).toEqual([]); // no heartbeat kept it alive
    const events = fromSse(stream.events);
    const terminal = checkRunInvariants(events);
    expect(terminal.type).toBe("complete");
    expect(events.filter((e) => e.type === "text")).toHaveLength(1);
    proc.signal("SIGTERM");
    expect(await proc.waitForExit(5000)).toBe(0);
  }, SILENCE_MS + 20_000);
});
