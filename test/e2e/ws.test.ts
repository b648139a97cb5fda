import { afterAll, describe, expect, test } from "bun:test";
import { getJson, startServer, waitUntil, type TestServer } from "../helpers/server.ts";
import { openWs, runFrames, type Frame, type WsClient } from "../helpers/ws.ts";
import { checkRunInvariants, fromWs } from "../helpers/invariants.ts";

const servers: TestServer[] = [];
const sockets: WsClient[] = [];
afterAll(async () => {
  for (const ws of sockets) ws.close();
  await Promise.all(servers.map((s) => s.stop()));
});
function server(...args: Parameters<typeof startServer>): TestServer {
  const s = startServer(...args);
  servers.push(s);
  return s;
}
async function connect(s: TestServer): Promise<WsClient> {
  const ws = await openWs(s.wsUrl);
  sockets.push(ws);
  return ws;
}

const isDone = (f: Frame) => f.t === "done";

/** Sends a prompt frame and returns the run's frames (session frame to done). */
async function runOverWs(ws: WsClient, frame: Record<string, unknown>) {
  const from = ws.frames.length;
  ws.send(frame);
  const sessionAt = await ws.waitFor((f) => f.t === "session" || (f.t === "error" && f.i === undefined), from);
  const first = ws.frames[sessionAt]!;
  if (first.t === "error") return { sessionId: null, refused: first, events: [], frames: [] };
  const doneAt = await ws.waitFor(isDone, sessionAt);
  const frames = ws.frames.slice(sessionAt + 1, doneAt);
  return { sessionId: first.session_id as string, refused: null, events: fromWs(frames), frames };
}

describe("WebSocket runs", () => {
  const s = server();

  test("a tool run: session frame, ordered run events with ids, then done", async () => {
    const ws = await connect(s);
    const run = await runOverWs(ws, { prompt: "What is 12*7?" });
    expect(run.sessionId).toBeString();
    const terminal = checkRunInvariants(run.events);
    expect(terminal.type).toBe("complete");
    expect(terminal.data.data as string).toContain("84");
    expect(run.frames.every((f) => typeof f.i === "string")).toBe(true);
    const text = run.frames.find((f) => f.t === "text")!;
    expect(typeof text.c).toBe("string");
    const delta = run.frames.find((f) => f.t === "tool_delta")!;
    expect(delta).toHaveProperty("n");
    expect(delta).toHaveProperty("a");
  });

  test("multi-turn memory on one socket, and the message alias", async () => {
    const ws = await connect(s);
    const first = await runOverWs(ws, { type: "message", message: "My name is Alice." });
    const second = await runOverWs(ws, { prompt: "What's my name?" });
    expect(second.sessionId).toBe(first.sessionId!);
    expect(checkRunInvariants(second.events).data.data).toBe("Your name is Alice.");
    const fresh = await runOverWs(ws, { prompt: "What's my name?", new_session: true });
    expect(fresh.sessionId).not.toBe(first.sessionId!);
    expect(checkRunInvariants(fresh.events).data.data).not.toBe("Your name is Alice.");
  });

  test("the same session over HTTP and WS shares history", async () => {
    const ws = await connect(s);
    const first = await runOverWs(ws, { prompt: "My name is Zed." });
    const other = await connect(s);
    const second = await runOverWs(other, { prompt: "What is my name?", session_id: first.sessionId });
    expect(checkRunInvariants(second.events).data.data).toBe("Your name is Zed.");
  });

  test("ping is answered with pong", async () => {
    const ws = await connect(s);
    ws.send({ type: "ping" });
    await ws.waitFor((f) => f.t === "pong");
  });
});

describe("WebSocket refusals keep the socket usable", () => {
  const s = server({ max_ws_frame_bytes: 64 * 1024, max_prompt_chars: 100 });

  test.each([
    ["not JSON", "this is not json", "bad_request"],
    ["a JSON array", "[1,2]", "bad_request"],
    ["a JSON number", "42", "bad_request"],
    ["no prompt", JSON.stringify({ session_id: "abc" }), "bad_request"],
    ["empty prompt", JSON.stringify({ prompt: "   " }), "bad_request"],
    ["prompt over the limit", JSON.stringify({ prompt: "x".repeat(101) }), "bad_request"],
    ["wrong field type", JSON.stringify({ prompt: 7 }), "bad_request"],
    ["bad session id", JSON.stringify({ prompt: "hi", session_id: "a b" }), "bad_request"],
    ["unknown type", JSON.stringify({ type: "dance" }), "bad_request"],
    ["nothing to cancel", JSON.stringify({ type: "cancel" }), "nothing_to_cancel"],
    ["resume of an unknown session", JSON.stringify({ type: "resume", session_id: "nope" }), "not_found"],
  ])("%s: refused, the socket stays usable", async (_name, raw, code) => {
    const ws = await connect(s);
    ws.send(raw);
    const at = await ws.waitFor((f) => f.t === "error");
    expect(ws.frames[at]).toMatchObject({ t: "error", code });
    expect(ws.frames[at]!.i).toBeUndefined();
    expect(typeof ws.frames[at]!.error).toBe("string");
    // still usable
    const run = await runOverWs(ws, { prompt: "hello" });
    expect(checkRunInvariants(run.events).type).toBe("complete");
  });

  test("binary frames are refused, the socket stays open", async () => {
    const ws = await connect(s);
    ws.socket.send(new Uint8Array([1, 2, 3]));
    const at = await ws.waitFor((f) => f.t === "error");
    expect(ws.frames[at]!.code).toBe("bad_request");
    const run = await runOverWs(ws, { prompt: "hello" });
    expect(checkRunInvariants(run.events).type).toBe("complete");
  });

  test("an oversized frame closes that socket with 1009 and hurts no other", async () => {
    const victim = await connect(s);
    const bystander = await connect(s);
    victim.send({ prompt: "x".repeat(70 * 1024) });
    const closed = await victim.closed;
    expect(closed.code).toBe(1009);
    const run = await runOverWs(bystander, { prompt: "hello" });
    expect(checkRunInvariants(run.events).type).toBe("complete");
  });

  test("a second prompt during a run is busy", async () => {
    const slow = server({ demo_delay_ms: 30 });
    const ws = await connect(slow);
    ws.send({ prompt: "a long answer please" });
    const sessionAt = await ws.waitFor((f) => f.t === "session");
    ws.send({ prompt: "again" });
    const at = await ws.waitFor((f) => f.t === "error" && f.i === undefined, sessionAt);
    expect(ws.frames[at]!.code).toBe("busy");
    ws.send({ type: "cancel" });
    await ws.waitFor(isDone, sessionAt);
  });
});

describe("cancel and resume over WebSocket", () => {
  const s = server({ demo_delay_ms: 20, disconnect_grace_seconds: 5 });

  test("cancel ends the run with usage then cancelled", async () => {
    const ws = await connect(s);
    ws.send({ prompt: "Please write a long streamed answer" });
    const sessionAt = await ws.waitFor((f) => f.t === "session");
    await ws.waitFor((f) => f.t === "text", sessionAt);
    ws.send({ type: "cancel" });
    const doneAt = await ws.waitFor(isDone, sessionAt);
    const events = fromWs(ws.frames.slice(sessionAt + 1, doneAt));
    const terminal = checkRunInvariants(events);
    expect(terminal.type).toBe("cancelled");
    expect(terminal.data.reason).toBe("cancelled by client");
    const sessionId = ws.frames[sessionAt]!.session_id as string;
    expect((await getJson(`${s.url}/sessions/${sessionId}`)).json.status).toBe("cancelled");
  });

  test("resume on a new socket after a drop loses and duplicates nothing", async () => {
    const a = await connect(s);
    a.send({ prompt: "Please write a long streamed answer" });
    const sessionAt = await a.waitFor((f) => f.t === "session");
    const sessionId = a.frames[sessionAt]!.session_id as string;
    await a.waitFor((f) => f.t === "text", sessionAt);
    a.close();
    await a.closed;
    const seen = runFrames(a.frames, sessionAt);
    const b = await connect(s);
    b.send({ type: "resume", session_id: sessionId, last_event_id: seen[seen.length - 1]!.i });
    const doneAt = await b.waitFor(isDone);
    const all = fromWs([...seen, ...runFrames(b.frames, 0, doneAt)]);
    expect(checkRunInvariants(all).type).toBe("complete");
    // Nothing left afterwards: just done.
    const c = await connect(s);
    c.send({ type: "resume", session_id: sessionId, last_event_id: all[all.length - 1]!.id });
    await c.waitFor(isDone);
    expect(runFrames(c.frames)).toEqual([]);
  });
});

describe("many WebSocket clients", () => {
  test("20 sockets each run a session concurrently", async () => {
    const s = server({ demo_delay_ms: 1 });
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect(s)));
    const runs = await Promise.all(clients.map((ws, i) => runOverWs(ws, { prompt: `My name is User${i}.` })));
    const answers = await Promise.all(clients.map((ws) => runOverWs(ws, { prompt: "What is my name?" })));
    answers.forEach((a, i) => {
      expect(a.sessionId).toBe(runs[i]!.sessionId!);
      expect(checkRunInvariants(a.events).data.data).toBe(`Your name is User${i}.`);
    });
    await waitUntil(() => s.app.bond.sessions.runningRuns.size === 0, 2000, "runs to end");
  });
});
