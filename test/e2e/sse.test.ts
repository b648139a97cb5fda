import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { defineTool } from "../../src/agent/tools.ts";
import { ask, askOk, getJson, startServer, waitUntil, type TestServer, serversStoppedAfterAll } from "../helpers/server.ts";
import { openSse, readSse } from "../helpers/sse.ts";
import { checkRunInvariants, fromSse, fromWs } from "../helpers/invariants.ts";
import { openWs, runFrames } from "../helpers/ws.ts";
import { ScriptedModel, text, usage } from "../helpers/scripted-model.ts";

const server = serversStoppedAfterAll();

async function runOverSse(base: string, prompt: string, sessionId?: string) {
  const id = await askOk(base, prompt, sessionId);
  const stream = await readSse(`${base}/stream/${id}`);
  expect(stream.status).toBe(200);
  const events = fromSse(stream.events);
  return { id, events, terminal: checkRunInvariants(events) };
}

describe("SSE runs of every kind keep the ordering rules", () => {
  const s = server();

  test("arithmetic: calculator call, its result, an answer that contains it", async () => {
    const { events, terminal } = await runOverSse(s.url, "What is 12*7?");
    expect(events[0]!.type).toBe("block_start");
    expect(events[0]!.data.kind).toBe("thinking");
    const exec = events.find((e) => e.type === "tool_exec")!;
    expect(exec.data).toMatchObject({ name: "calculator", args: { expression: "12*7" } });
    const result = events.find((e) => e.type === "tool_result")!;
    expect(result.data).toMatchObject({ id: exec.data.id, result: "84", is_error: false });
    expect(events.some((e) => e.type === "tool_delta")).toBe(true);
    expect(terminal.type).toBe("complete");
    expect(terminal.data.data as string).toContain("84");
  });

  test("a malformed expression is a tool error the answer reports", async () => {
    const { events, terminal } = await runOverSse(s.url, "What is 2+*3?");
    const result = events.find((e) => e.type === "tool_result")!;
    expect(result.data.is_error).toBe(true);
    expect(terminal.type).toBe("complete");
    expect((terminal.data.data as string).toLowerCase()).toMatch(/could not|error|invalid/);
  });

  test("time question calls current_time", async () => {
    const { events, terminal } = await runOverSse(s.url, "What time is it?");
    expect(events.find((e) => e.type === "tool_exec")!.data.name).toBe("current_time");
    expect(terminal.type).toBe("complete");
  });

  test("anything else streams a multi-sentence reply quoting the prompt", async () => {
    const { events, terminal } = await runOverSse(s.url, "Tell me about streams");
    expect(events.filter((e) => e.type === "text").length).toBeGreaterThan(5);
    expect(terminal.data.data as string).toContain("Tell me about streams");
  });

  test("headers, retry line and event ids", async () => {
    const id = await askOk(s.url, "hello there");
    const stream = await readSse(`${s.url}/stream/${id}`);
    expect(stream.headers.get("content-type")).toStartWith("text/event-stream");
    expect(stream.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(stream.headers.get("x-accel-buffering")).toBe("no");
    expect(stream.retry).toBe(1000);
    expect(stream.events[0]!.id).toBe("1:1");
  });

  test("a stream's response carries what every hook added (CORS, request id, security headers) once each", async () => {
    const listed = server({ cors_origins: ["https://app.example"] });
    const id = await askOk(listed.url, "hello there");
    const res = await fetch(`${listed.url}/stream/${id}`, { headers: { origin: "https://app.example", "x-request-id": "stream-req-1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
    expect(res.headers.get("x-request-id")).toBe("stream-req-1");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    // Set once, not merged twice into "a, a".
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(await res.text()).toContain("event: complete");
    const foreign = await fetch(`${listed.url}/stream/${id}`, { headers: { origin: "https://evil.example" } });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    await foreign.body?.cancel();
  });
});

describe("sessions over SSE", () => {
  const s = server();

  test("multi-turn memory", async () => {
    const first = await runOverSse(s.url, "My name is Alice.");
    const second = await runOverSse(s.url, "What is my name?", first.id);
    expect(second.id).toBe(first.id);
    expect(second.terminal.data.data).toBe("Your name is Alice.");
    expect(second.events[0]!.id).toBe("2:1");
    const session = await getJson(`${s.url}/sessions/${first.id}`);
    expect(session.json.runs).toBe(2);
    expect((session.json.history as unknown[]).length).toBeGreaterThanOrEqual(4);
  });

  test("two concurrent sessions never share history", async () => {
    const slow = server({ demo_delay_ms: 2 });
    const [a, b] = await Promise.all([runOverSse(slow.url, "My name is Alice."), runOverSse(slow.url, "My name is Bob.")]);
    const [a2, b2] = await Promise.all([
      runOverSse(slow.url, "What's my name?", a.id),
      runOverSse(slow.url, "What's my name?", b.id),
    ]);
    expect(a2.terminal.data.data).toBe("Your name is Alice.");
    expect(b2.terminal.data.data).toBe("Your name is Bob.");
  });

  test("an unknown session id given to /ask creates that session", async () => {
    const id = await askOk(s.url, "hello", "my-own.id:1");
    expect(id).toBe("my-own.id:1");
    const { events } = { events: fromSse((await readSse(`${s.url}/stream/${id}`)).events) };
    checkRunInvariants(events);
  });
});

describe("replay, resume and fan-out", () => {
  const s = server({ demo_delay_ms: 5 });

  test("a late subscriber gets the whole run replayed", async () => {
    const id = await askOk(s.url, "What is 6*7?");
    await waitUntil(async () => (await getJson(`${s.url}/sessions/${id}`)).json.status === "completed", 10_000, "run end");
    const { events } = { events: fromSse((await readSse(`${s.url}/stream/${id}`)).events) };
    expect(checkRunInvariants(events).data.data as string).toContain("42");
  });

  test("a finished run replayed after its readers left is what they saw, over SSE and WS", async () => {
    // Once nobody reads a finished run, its log packs its deltas (src/sessions/delta-packing.ts):
    // replays then read them back from the packed text. A tool round gives thinking, text and
    // tool events across several blocks.
    const id = await askOk(s.url, "What is 12*7?");
    const live = fromSse((await readSse(`${s.url}/stream/${id}`)).events);
    expect(checkRunInvariants(live).data.data as string).toContain("84");
    expect(live.some((e) => e.type === "thinking")).toBe(true);
    await waitUntil(async () => (await getJson(`${s.url}/sessions/${id}`)).json.status === "completed", 10_000, "run end");
    expect(fromSse((await readSse(`${s.url}/stream/${id}`)).events)).toEqual(live);
    const mid = live[5]!.id;
    expect(fromSse((await readSse(`${s.url}/stream/${id}`, { "last-event-id": mid })).events)).toEqual(live.slice(6));
    const ws = await openWs(s.wsUrl);
    try {
      ws.send({ type: "resume", session_id: id, last_event_id: live[0]!.id });
      const doneAt = await ws.waitFor((f) => f.t === "done");
      expect(fromWs(runFrames(ws.frames, 0, doneAt))).toEqual(live.slice(1));
    } finally {
      ws.close();
    }
  });

  test("resume mid-run with Last-Event-ID loses and duplicates nothing", async () => {
    const id = await askOk(s.url, "Please write a long streamed answer for me");
    const first = await openSse(`${s.url}/stream/${id}`);
    await first.waitForEvents(6);
    first.abort();
    const seen = first.events.slice();
    const last = seen[seen.length - 1]!.id;
    const rest = await readSse(`${s.url}/stream/${id}`, { "last-event-id": last });
    const all = fromSse([...seen, ...rest.events]);
    checkRunInvariants(all);
    // The same via the query parameter, from the middle.
    const mid = all[3]!.id;
    const viaQuery = await readSse(`${s.url}/stream/${id}?last_event_id=${mid}`);
    expect(viaQuery.events.map((e) => e.id)).toEqual(all.slice(4).map((e) => e.id));
  });

  test("reconnecting after the run ended gets 204, never a re-run", async () => {
    const id = await askOk(s.url, "hi");
    const stream = await readSse(`${s.url}/stream/${id}`);
    const last = stream.events[stream.events.length - 1]!.id;
    const again = await fetch(`${s.url}/stream/${id}`, { headers: { "last-event-id": last } });
    expect(again.status).toBe(204);
    const session = await getJson(`${s.url}/sessions/${id}`);
    expect(session.json.runs).toBe(1);
  });

  test("an id of an older run replays the latest run from its start", async () => {
    const id = await askOk(s.url, "one");
    await readSse(`${s.url}/stream/${id}`);
    await askOk(s.url, "two", id);
    const stream = await readSse(`${s.url}/stream/${id}`, { "last-event-id": "1:3" });
    expect(stream.events[0]!.id).toBe("2:1");
    checkRunInvariants(fromSse(stream.events));
  });

  test("malformed or future event ids are 400", async () => {
    const id = await askOk(s.url, "x");
    await readSse(`${s.url}/stream/${id}`);
    for (const bad of ["abc", "1:", "1:999999", "7:1", "-1:2"]) {
      const res = await getJson(`${s.url}/stream/${id}`, { headers: { "last-event-id": bad } });
      expect(res.status).toBe(400);
      expect(typeof res.json.error).toBe("string");
    }
  });

  test("two subscribers see identical sequences", async () => {
    const id = await askOk(s.url, "What is 3*3?");
    const [a, b] = await Promise.all([readSse(`${s.url}/stream/${id}`), readSse(`${s.url}/stream/${id}`)]);
    expect(a.events.length).toBeGreaterThan(5);
    expect(b.events).toEqual(a.events);
  });

  test("unknown session: 404 with the contract's message", async () => {
    const res = await getJson(`${s.url}/stream/nope-nope`);
    expect(res.status).toBe(404);
    expect(res.json.error).toBe("Session not found or expired");
  });
});

describe("streams that are silent, slow or abandoned", () => {
  test("a stream silent longer than the idle timeout survives", async () => {
    const wait = defineTool({
      name: "wait",
      description: "waits",
      parameters: Type.Object({}),
      execute: async (_args, ctx) => {
        await Bun.sleep(7000);
        ctx.signal.throwIfAborted();
        return "done waiting";
      },
    });
    const model = new ScriptedModel((_req, round) =>
      round === 0
        ? [{ type: "tool_call", index: 0, id: "w1", name: "wait", args: "{}" }, usage()]
        : [text("finished"), usage()],
    );
    // Idle timeout 2 s, heartbeat 60 s: only the per-stream timeout exemption keeps it open.
    const s = server({ heartbeat_seconds: 60 }, { model, tools: [wait], idleTimeoutSeconds: 2 });
    const id = await askOk(s.url, "go");
    const stream = await readSse(`${s.url}/stream/${id}`);
    const terminal = checkRunInvariants(fromSse(stream.events));
    expect(terminal.type).toBe("complete");
    expect(terminal.data.data).toBe("finished");
  }, 20_000);

  test("heartbeat comments arrive while the stream is quiet", async () => {
    const model = new ScriptedModel(() => [{ pause: 1300 }, text("ok"), usage()]);
    const s = server({ heartbeat_seconds: 0.25 }, { model });
    const id = await askOk(s.url, "go");
    const stream = await readSse(`${s.url}/stream/${id}`);
    expect(stream.comments.filter((c) => c === ": ping").length).toBeGreaterThanOrEqual(2);
    checkRunInvariants(fromSse(stream.events));
  });

  test("a client that leaves is noticed promptly", async () => {
    const model = new ScriptedModel(() => [{ pause: 10_000 }, text("late"), usage()]);
    const s = server({ disconnect_grace_seconds: 60 }, { model });
    const id = await askOk(s.url, "go");
    const stream = await openSse(`${s.url}/stream/${id}`);
    await waitUntil(() => s.app.bond.sseStreams === 1, 2000, "subscriber");
    stream.abort();
    await waitUntil(() => s.app.bond.sseStreams === 0, 2000, "the server to notice the disconnect");
    await fetch(`${s.url}/sessions/${id}/cancel`, { method: "POST" });
  });

  // (Stalled readers that leave are covered in bounds.test.ts.)
  test("clients that leave leave no stream behind: before their response, and while it waits", async () => {
    const s = server({ demo_bench_tokens: 2, demo_delay_ms: 60_000, disconnect_grace_seconds: 60 });
    const port = Number(new URL(s.url).port);
    const rawStream = async (id: string, then: (socket: { end(): void; terminate(): void }) => void) => {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, open() {} } });
      socket.write(`GET /stream/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      then(socket);
    };
    // At once, before the server could answer: half of them end politely, half reset.
    for (let i = 0; i < 20; i++) {
      const id = await askOk(s.url, "go");
      await rawStream(id, (socket) => (i % 2 === 0 ? socket.end() : socket.terminate()));
    }
    await waitUntil(() => s.app.bond.sseStreams === 0 && s.app.bond.heartbeat.size === 0, 3000, "streams left before their response to be released");
    // Open and waiting for the next delta (60 s away), then gone.
    const waiting: { end(): void }[] = [];
    for (let i = 0; i < 10; i++) {
      const id = await askOk(s.url, "go");
      await rawStream(id, (socket) => waiting.push(socket));
    }
    await waitUntil(() => s.app.bond.sseStreams === 10, 3000, "the waiting streams to open");
    for (const socket of waiting) socket.end();
    await waitUntil(() => s.app.bond.sseStreams === 0 && s.app.bond.heartbeat.size === 0, 3000, "waiting streams to be released");
    for (const run of s.app.bond.sessions.runningRuns) expect(run.subscriberCount).toBe(0);
  });

  test("a subscriber that stops reading does not hold up another", async () => {
    const s = server({ demo_bench_tokens: 50_000 });
    const id = await askOk(s.url, "flood");
    // A raw socket that sends the request and never reads.
    const stalled = await Bun.connect({
      hostname: "127.0.0.1",
      port: Number(new URL(s.url).port),
      socket: { data() {}, open() {} },
    });
    stalled.write(`GET /stream/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    stalled.pause?.();
    const normal = await readSse(`${s.url}/stream/${id}`);
    expect(normal.events.filter((e) => e.event === "text").length).toBe(50_000);
    expect(checkRunInvariants(fromSse(normal.events)).type).toBe("complete");
    stalled.end();
  }, 60_000);
});

describe("/ask input errors", () => {
  const s = server({ max_prompt_chars: 1000 });

  test.each([
    ["bad JSON", "{not json", 400],
    ["missing prompt", { session_id: "x" }, 400],
    ["prompt not a string", { prompt: 5 }, 400],
    ["empty prompt", { prompt: "" }, 400],
    ["white-space prompt", { prompt: " \n\t " }, 400],
    ["prompt over the limit", { prompt: "x".repeat(1001) }, 400],
    ["bad session id characters", { prompt: "hi", session_id: "no spaces allowed" }, 400],
    ["session id too long", { prompt: "hi", session_id: "a".repeat(129) }, 400],
  ] as const)("%s → %d with a JSON error", async (_name, body, status) => {
    const res = await ask(s.url, body);
    expect(res.status).toBe(status);
    expect(typeof res.json.error).toBe("string");
    expect(JSON.stringify(res.json)).not.toContain("at ");
  });

  test("a 2 MiB body is 413 with a JSON error", async () => {
    const res = await fetch(`${s.url}/ask`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "x".repeat(2 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toContain("limit");
  });

  test("a second prompt during a run is 409", async () => {
    const slow = server({ demo_delay_ms: 50 });
    const id = await askOk(slow.url, "a long answer please");
    const res = await ask(slow.url, { prompt: "again", session_id: id });
    expect(res.status).toBe(409);
    expect(typeof res.json.error).toBe("string");
    await fetch(`${slow.url}/sessions/${id}/cancel`, { method: "POST" });
  });

  test("unknown routes are a JSON 404", async () => {
    const res = await getJson(`${s.url}/no/such/route`);
    expect(res.status).toBe(404);
    expect(typeof res.json.error).toBe("string");
  });
});
