import { describe, expect, test } from "bun:test";
import { ask, askOk, getJson, startServer, waitUntil, type TestServer, serversStoppedAfterAll } from "../helpers/server.ts";
import { openSse, readSse } from "../helpers/sse.ts";
import { checkRunInvariants, fromSse } from "../helpers/invariants.ts";
import { openWs } from "../helpers/ws.ts";

const server = serversStoppedAfterAll();
const status = async (s: TestServer, id: string) => (await getJson(`${s.url}/sessions/${id}`)).json.status;

describe("GET /sessions/{id}", () => {
  test("describes the session: status, times, runs, history, usage", async () => {
    const s = server({ session_timeout_seconds: 120 });
    const id = await askOk(s.url, "What is 2*21?");
    await readSse(`${s.url}/stream/${id}`);
    const { status: code, json } = await getJson(`${s.url}/sessions/${id}`);
    expect(code).toBe(200);
    expect(json).toMatchObject({ session_id: id, status: "completed", runs: 1 });
    for (const key of ["created_at", "updated_at", "expires_at"]) {
      expect(new Date(json[key] as string).toISOString()).toBe(json[key] as string);
    }
    const expiresIn = Date.parse(json.expires_at as string) - Date.parse(json.updated_at as string);
    expect(expiresIn).toBe(120_000);
    const history = json.history as Array<{ role: string; content: string }>;
    expect(history[0]).toEqual({ role: "user", content: "What is 2*21?" });
    expect(history.some((m) => m.role === "tool" && m.content === "42")).toBe(true);
    expect(history[history.length - 1]!.role).toBe("assistant");
    const usage = json.usage as Record<string, number>;
    expect(usage.total_tokens).toBe(usage.prompt_tokens! + usage.completion_tokens!);
    expect(usage.prompt_tokens).toBe(3);
  });

  test("pending before any subscriber, streaming with one", async () => {
    const s = server({ demo_delay_ms: 30 });
    const id = await askOk(s.url, "a long answer please");
    expect(await status(s, id)).toBe("pending");
    const stream = await openSse(`${s.url}/stream/${id}`);
    await stream.waitForEvents(1);
    expect(await status(s, id)).toBe("streaming");
    await fetch(`${s.url}/sessions/${id}/cancel`, { method: "POST" });
    await stream.done;
  });
});

describe("cancel and delete over HTTP", () => {
  const s = server({ demo_delay_ms: 20 });

  test("cancel: 202, the stream ends with usage then cancelled; again: 409", async () => {
    const id = await askOk(s.url, "a long streamed answer please");
    const stream = await openSse(`${s.url}/stream/${id}`);
    await stream.waitForEvents(4);
    const res = await fetch(`${s.url}/sessions/${id}/cancel`, { method: "POST" });
    expect(res.status).toBe(202);
    await stream.done;
    const terminal = checkRunInvariants(fromSse(stream.events));
    expect(terminal).toMatchObject({ type: "cancelled", data: { reason: "cancelled by client" } });
    expect(await status(s, id)).toBe("cancelled");
    const again = await getJson(`${s.url}/sessions/${id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(typeof again.json.error).toBe("string");
    // The session stays usable.
    const next = await askOk(s.url, "hello again", id);
    expect(next).toBe(id);
    expect(checkRunInvariants(fromSse((await readSse(`${s.url}/stream/${id}`)).events)).type).toBe("complete");
  });

  test("cancel reaches a model in the middle of a long wait at once (the demo model watches the run's own switch)", async () => {
    const slow = server({ demo_delay_ms: 120_000 });
    const id = await askOk(slow.url, "a long streamed answer please");
    const stream = await openSse(`${slow.url}/stream/${id}`);
    await Bun.sleep(50); // the model is now in its first two-minute pause
    const t0 = performance.now();
    expect((await fetch(`${slow.url}/sessions/${id}/cancel`, { method: "POST" })).status).toBe(202);
    await stream.done;
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(checkRunInvariants(fromSse(stream.events))).toMatchObject({ type: "cancelled", data: { reason: "cancelled by client" } });
    expect(await status(slow, id)).toBe("cancelled");
  });

  test("delete: 204, then 404 everywhere; unknown: 404", async () => {
    const id = await askOk(s.url, "a long streamed answer please");
    const stream = await openSse(`${s.url}/stream/${id}`);
    const res = await fetch(`${s.url}/sessions/${id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    await stream.done;
    expect(checkRunInvariants(fromSse(stream.events)).type).toBe("cancelled");
    expect((await getJson(`${s.url}/sessions/${id}`)).status).toBe(404);
    expect((await getJson(`${s.url}/stream/${id}`)).status).toBe(404);
    expect((await getJson(`${s.url}/sessions/${id}`, { method: "DELETE" })).status).toBe(404);
    expect((await getJson(`${s.url}/sessions/never-was/cancel`, { method: "POST" })).status).toBe(404);
  });
});

describe("disconnect grace", () => {
  test("a drop and a resume within the grace: the run completes", async () => {
    const s = server({ demo_delay_ms: 10, disconnect_grace_seconds: 2 });
    const id = await askOk(s.url, "a long streamed answer please, with many words in it");
    const first = await openSse(`${s.url}/stream/${id}`);
    await first.waitForEvents(5);
    first.abort();
    await Bun.sleep(300);
    const rest = await readSse(`${s.url}/stream/${id}`, { "last-event-id": first.events[first.events.length - 1]!.id });
    const all = fromSse([...first.events, ...rest.events]);
    expect(checkRunInvariants(all).type).toBe("complete");
  });

  test("no resume: the run is cancelled after the grace", async () => {
    const s = server({ demo_delay_ms: 100, disconnect_grace_seconds: 0.3 });
    const id = await askOk(s.url, "a long streamed answer please, with many words in it");
    const ws = await openWs(s.wsUrl);
    ws.send({ type: "resume", session_id: id });
    await ws.waitFor((f) => f.t === "text");
    ws.close();
    await waitUntil(async () => (await status(s, id)) === "cancelled", 3000, "cancel after grace");
    const replay = await readSse(`${s.url}/stream/${id}`);
    expect(checkRunInvariants(fromSse(replay.events))).toMatchObject({ type: "cancelled", data: { reason: "client disconnected" } });
  });

  test("a run that never had a subscriber runs to its end", async () => {
    const s = server({ demo_delay_ms: 5, disconnect_grace_seconds: 0.1 });
    const id = await askOk(s.url, "What is 5*5?");
    await waitUntil(async () => (await status(s, id)) === "completed", 5000, "completion");
  });
});

describe("expiry and limits", () => {
  test("idle sessions expire on a timer; a running one never does", async () => {
    const s = server({ session_timeout_seconds: 0.4, demo_delay_ms: 0 });
    const idle = await askOk(s.url, "hi");
    await waitUntil(async () => (await status(s, idle)) === "completed", 2000, "idle run end");
    const slow = server({ session_timeout_seconds: 0.4, demo_delay_ms: 100 });
    const long = await askOk(slow.url, "a long streamed answer please, with many words in it");
    // The sweeper removes the idle one without anyone asking for it.
    await waitUntil(() => s.app.bond.sessions.size === 0, 3000, "sweep");
    expect((await getJson(`${s.url}/sessions/${idle}`)).status).toBe(404);
    await Bun.sleep(900);
    expect(await status(slow, long)).toBe("pending");
    await fetch(`${slow.url}/sessions/${long}/cancel`, { method: "POST" });
  });

  test("the 4th live session over a limit of 3: 503 with Retry-After", async () => {
    const s = server({ max_concurrent_sessions: 3 });
    for (let i = 0; i < 3; i++) await askOk(s.url, `hello ${i}`);
    const res = await ask(s.url, { prompt: "one too many" });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(typeof res.json.error).toBe("string");
    const ws = await openWs(s.wsUrl);
    ws.send({ prompt: "one too many" });
    const at = await ws.waitFor((f) => f.t === "error");
    expect(ws.frames[at]!.code).toBe("unavailable");
    ws.close();
  });

  test("rate limit: runs per minute over HTTP and WS together → 429 / rate_limited", async () => {
    const s = server({ rate_limit_per_minute: 2 });
    await askOk(s.url, "one");
    const ws = await openWs(s.wsUrl);
    ws.send({ prompt: "two" });
    await ws.waitFor((f) => f.t === "done");
    const res = await ask(s.url, { prompt: "three" });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    ws.send({ prompt: "four", new_session: true });
    const at = await ws.waitFor((f) => f.t === "error");
    expect(ws.frames[at]!.code).toBe("rate_limited");
    ws.close();
  });
});
