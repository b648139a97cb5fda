/**
 * The client's transports against a small in-test server that speaks API.md's wire format
 * (POST /ask, GET /stream with Last-Event-ID and 204, /sessions, WS /ws) and can drop, stall
 * or refuse connections on cue.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type { Server, ServerWebSocket } from "bun";
import type { AgentEvent } from "../../src/agent/events.ts";
import { BondClient, BondError, type BondEvent, type BondClientOptions } from "../../src/client/index.ts";

// ---------------------------------------------------------------- a fake run log

interface Entry {
  id: string;
  event: AgentEvent;
}

const isEnd = (e: AgentEvent): boolean => e.type === "complete" || e.type === "error" || e.type === "cancelled";

class FakeRun {
  readonly log: Entry[] = [];
  done = false;
  cancelled = false;
  private next = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly script: AgentEvent[],
    private readonly runNo: number,
    delayMs: number,
  ) {
    this.timer = setInterval(() => {
      const event = this.script[this.next++];
      if (event) this.append(event);
    }, delayMs);
  }

  private append(event: AgentEvent): void {
    this.log.push({ id: `${this.runNo}:${this.log.length + 1}`, event });
    if (isEnd(event)) {
      this.done = true;
      clearInterval(this.timer);
    }
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  cancel(): boolean {
    if (this.done) return false;
    this.cancelled = true;
    clearInterval(this.timer);
    this.append({ type: "usage", prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, total_cost: null, model: "fake" });
    this.append({ type: "cancelled", reason: "cancelled by client" });
    return true;
  }

  /** Resolves when the log is longer than `n` or the run is over. */
  async waitBeyond(n: number): Promise<void> {
    while (this.log.length <= n && !this.done) await new Promise<void>((r) => this.waiters.push(r));
  }

  startIndex(lastEventId: string | null): number {
    const m = lastEventId ? /^(\d+):(\d+)$/.exec(lastEventId) : null;
    return m && Number(m[1]) === this.runNo ? Number(m[2]) : 0;
  }
}

function script(words: number): AgentEvent[] {
  const out: AgentEvent[] = [
    { type: "block_start", kind: "thinking", idx: 0 },
    { type: "thinking", content: "Thinking… " },
    { type: "block_end", kind: "thinking", idx: 0 },
    { type: "block_start", kind: "tool-call", idx: 1 },
    { type: "tool_delta", name: "calculator", args: '{"expression":"12*7"}' },
    { type: "block_end", kind: "tool-call", idx: 1 },
    { type: "tool_exec", id: "t1", name: "calculator", args: { expression: "12*7" } },
    { type: "tool_result", id: "t1", name: "calculator", result: "84", is_error: false },
    { type: "block_start", kind: "text", idx: 2 },
  ];
  for (let i = 0; i < words; i++) out.push({ type: "text", content: `wörd${i}→日本 ` });
  out.push({ type: "block_end", kind: "text", idx: 2 });
  out.push({ type: "usage", prompt_tokens: 3, completion_tokens: words + 1, total_tokens: words + 4, total_cost: null, model: "fake" });
  out.push({ type: "complete", data: "done" });
  return out;
}

// ---------------------------------------------------------------- wire encoders (API.md §2, §3)

function payload(event: AgentEvent): Record<string, unknown> {
  const { type: _t, ...rest } = event;
  return rest;
}

function sseFrame(entry: Entry, crlf: boolean): string {
  const nl = crlf ? "\r\n" : "\n";
  // A comment line inside a frame must not end or disturb it.
  return `id: ${entry.id}${nl}: ping${nl}event: ${entry.event.type}${nl}data: ${JSON.stringify(payload(entry.event))}${nl}${nl}`;
}

function wsFrame(entry: Entry): string {
  const e = entry.event;
  const body: Record<string, unknown> = { t: e.type };
  if (e.type === "text" || e.type === "thinking") body.c = e.content;
  else if (e.type === "tool_delta") Object.assign(body, { n: e.name, a: e.args });
  else Object.assign(body, payload(e));
  body.i = entry.id;
  return JSON.stringify(body);
}

// ---------------------------------------------------------------- the fake server

type Fault = { after: number; mode: "end" | "error" | "stall" } | null;

interface Behaviour {
  words: number;
  delayMs: number;
  /** Per stream connection (SSE or WS), in order: what to do to it. */
  faults: Fault[];
  crlf: boolean;
  apiKey: string | null;
}

interface WsData {
  protocols: string | null;
  /** A half-open connection: it neither sends nor answers anything any more. */
  dead: boolean;
}

const seen = {
  asks: 0,
  connections: 0,
  lastEventIds: [] as Array<string | null>,
  tokens: [] as Array<string | null>,
  auth: [] as Array<string | null>,
  wsFrames: [] as Array<Record<string, unknown>>,
  wsProtocols: [] as Array<string | null>,
  cancels: 0,
};
let behaviour: Behaviour;
const sessions = new Map<string, FakeRun>();
let server: Server<WsData>;
let baseUrl: string;

function reset(b: Partial<Behaviour> = {}): void {
  behaviour = { words: 12, delayMs: 3, faults: [], crlf: false, apiKey: null, ...b };
  seen.asks = 0;
  seen.connections = 0;
  seen.lastEventIds = [];
  seen.tokens = [];
  seen.auth = [];
  seen.wsFrames = [];
  seen.wsProtocols = [];
  seen.cancels = 0;
}

const json = (body: unknown, status = 200): Response => Response.json(body, { status });

function startRun(sessionId: string | undefined): { id: string; run: FakeRun } | Response {
  if (sessionId === "busy") return json({ error: "A run is already in progress in this session" }, 409);
  const id = sessionId ?? `s${sessions.size + 1}`;
  const previous = sessions.get(id);
  const run = new FakeRun(script(behaviour.words), previous ? previous.startIndex(null) + 2 : 1, behaviour.delayMs);
  sessions.set(id, run);
  return { id, run };
}

function sseStream(run: FakeRun, from: number): Response {
  const fault = behaviour.faults[seen.connections++] ?? null;
  let idx = from;
  let sent = 0;
  let first = true;
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        first = false;
        controller.enqueue(enc.encode("retry: 5\n\n"));
        return;
      }
      if (fault && sent === fault.after) {
        if (fault.mode === "end") return controller.close();
        if (fault.mode === "error") {
          await Bun.sleep(20); // let the frames already queued reach the socket: error() discards the queue
          return controller.error(new Error("injected drop"));
        }
        await Bun.sleep(10_000); // stall: an open connection that carries nothing
        return;
      }
      await run.waitBeyond(idx);
      const entry = run.log[idx];
      if (!entry) return controller.close();
      idx++;
      sent++;
      const bytes = enc.encode(sseFrame(entry, behaviour.crlf));
      // Cut inside the frame, and inside a multi-byte character when there is one.
      const cut = Math.max(1, bytes.indexOf(0xe6) + 1 || Math.floor(bytes.length / 2));
      controller.enqueue(bytes.subarray(0, cut));
      await Bun.sleep(0);
      controller.enqueue(bytes.subarray(cut));
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
}

async function followWs(ws: ServerWebSocket<WsData>, run: FakeRun, from: number): Promise<void> {
  const fault = behaviour.faults[seen.connections++] ?? null;
  let idx = from;
  let sent = 0;
  for (let guard = 0; guard < 10_000; guard++) {
    if (fault && sent === fault.after) {
      if (fault.mode === "stall") {
        ws.data.dead = true;
        return;
      }
      if (fault.mode === "end") ws.close(1011, "injected");
      else ws.terminate();
      return;
    }
    await run.waitBeyond(idx);
    const entry = run.log[idx];
    if (!entry || ws.readyState !== 1) return;
    idx++;
    sent++;
    ws.send(wsFrame(entry));
    if (isEnd(entry.event)) {
      ws.send('{"t":"done"}');
      return;
    }
  }
}

function authorized(req: Request): boolean {
  return !behaviour.apiKey || req.headers.get("authorization") === `Bearer ${behaviour.apiKey}`;
}

beforeAll(() => {
  reset();
  server = Bun.serve<WsData>({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 30,
    async fetch(req, srv) {
      const url = new URL(req.url);
      const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
      if (parts[0] === "health") return json({ status: "healthy", agent_name: "fake" });
      if (parts[0] === "ws") {
        const protocols = req.headers.get("sec-websocket-protocol");
        seen.wsProtocols.push(protocols);
        seen.auth.push(req.headers.get("authorization"));
        seen.tokens.push(url.searchParams.get("token"));
        const key = behaviour.apiKey;
        if (key && protocols !== `bearer, ${key}` && !authorized(req) && url.searchParams.get("token") !== key) {
          return json({ error: "Unauthorized" }, 401);
        }
        const ok = srv.upgrade(req, { data: { protocols, dead: false }, headers: protocols ? { "sec-websocket-protocol": "bearer" } : {} });
        return ok ? undefined : json({ error: "upgrade failed" }, 400);
      }
      seen.auth.push(req.headers.get("authorization"));
      if (!authorized(req)) return json({ error: "Unauthorized" }, 401);
      if (req.method === "POST" && parts[0] === "ask") {
        seen.asks++;
        const body = (await req.json()) as { prompt: string; session_id?: string | null };
        if (!body.prompt) return json({ error: "prompt must not be empty" }, 400);
        const started = startRun(body.session_id ?? undefined);
        if (started instanceof Response) return started;
        return json({ session_id: started.id, stream_url: `/stream/${started.id}?token=tok-${started.id}` });
      }
      const run = parts[1] ? sessions.get(parts[1]) : undefined;
      if (parts[0] === "stream") {
        seen.tokens.push(url.searchParams.get("token"));
        const last = req.headers.get("last-event-id");
        seen.lastEventIds.push(last);
        if (!run) return json({ error: "Session not found or expired" }, 404);
        const from = run.startIndex(last);
        if (run.done && from >= run.log.length) return new Response(null, { status: 204 });
        return sseStream(run, from);
      }
      if (parts[0] === "sessions" && run) {
        if (req.method === "POST" && parts[2] === "cancel") {
          seen.cancels++;
          return run.cancel() ? json({ status: "cancelling" }, 202) : json({ error: "No run in progress" }, 409);
        }
        if (req.method === "DELETE") return new Response(null, { status: 204 });
        const status = run.cancelled ? "cancelled" : run.done ? "completed" : "streaming";
        return json({ session_id: parts[1], status, runs: 1, history: [], usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, total_cost: null } });
      }
      return json({ error: "Not found" }, 404);
    },
    websocket: {
      message(ws, message) {
        const frame = JSON.parse(String(message)) as Record<string, unknown>;
        seen.wsFrames.push(frame);
        if (ws.data.dead) return;
        if (typeof frame.prompt === "string") {
          const started = startRun(typeof frame.session_id === "string" ? frame.session_id : undefined);
          if (started instanceof Response) return void ws.send('{"t":"error","error":"A run is already in progress","code":"busy"}');
          ws.send(JSON.stringify({ t: "session", session_id: started.id }));
          void followWs(ws, started.run, 0);
        } else if (frame.type === "resume") {
          const run = sessions.get(String(frame.session_id));
          if (!run) return void ws.send('{"t":"error","error":"Session not found or expired","code":"not_found"}');
          const from = run.startIndex(typeof frame.last_event_id === "string" ? frame.last_event_id : null);
          if (run.done && from >= run.log.length) return void ws.send('{"t":"done"}');
          ws.send(JSON.stringify({ t: "session", session_id: frame.session_id }));
          void followWs(ws, run, from);
        } else if (frame.type === "cancel") {
          const run = [...sessions.values()].at(-1);
          seen.cancels++;
          if (!run?.cancel()) ws.send('{"t":"error","error":"Nothing to cancel","code":"nothing_to_cancel"}');
        } else if (frame.type === "ping") {
          ws.send('{"t":"pong"}');
        }
      },
    },
  });
  baseUrl = `http://127.0.0.1:${server.port}`;
});

afterAll(() => {
  server.stop(true);
});

beforeEach(() => reset());

// ---------------------------------------------------------------- helpers

function client(extra: Partial<BondClientOptions> = {}): BondClient {
  return new BondClient({ baseUrl, reconnect: { baseDelayMs: 5, maxDelayMs: 20 }, ...extra });
}

async function collect(iterable: AsyncIterable<BondEvent>, limit = 10_000): Promise<BondEvent[]> {
  const out: BondEvent[] = [];
  for await (const ev of iterable) {
    out.push(ev);
    if (out.length >= limit) break;
  }
  return out;
}

/** Every event of run 1 exactly once, in order. */
function expectWholeRun(events: BondEvent[], words = 12): void {
  const expected = script(words);
  expect(events.map((e) => e.eventId)).toEqual(expected.map((_, i) => `1:${i + 1}`));
  expect(events.map(({ eventId: _id, ...rest }) => rest)).toEqual(expected);
}

// ---------------------------------------------------------------- SSE

describe("SSE transport", () => {
  test("streams a whole run in order, following stream_url with its token, CRLF frames split mid-character", async () => {
    reset({ crlf: true });
    const run = client().ask("What is 12*7?");
    const events = await collect(run);
    expectWholeRun(events);
    expect(run.sessionId).toBe(`s${sessions.size}`);
    expect(run.lastEventId).toBe(events.at(-1)?.eventId ?? "");
    expect(seen.tokens).toEqual([`tok-${run.sessionId}`]);
  });

  // "error" resets the TCP connection mid-body; Bun prints the injected error — that line is expected.
  for (const mode of ["end", "error"] as const) {
    test(`a connection dropped mid-run (${mode}) resumes with Last-Event-ID: each event exactly once, in order`, async () => {
      reset({ faults: [{ after: 4, mode }, { after: 0, mode }, { after: 7, mode }] });
      const events = await collect(client().ask("hi"));
      expectWholeRun(events);
      expect(seen.connections).toBe(4);
      expect(seen.lastEventIds).toEqual([null, "1:4", "1:4", "1:11"]);
    });
  }

  test("a stalled connection is detected by the idle timeout and resumed", async () => {
    reset({ faults: [{ after: 3, mode: "stall" }] });
    const t0 = performance.now();
    const events = await collect(client({ idleTimeoutMs: 150 }).ask("hi"));
    expectWholeRun(events);
    expect(seen.lastEventIds).toEqual([null, "1:3"]);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  test("gives up after the configured number of reconnects", async () => {
    reset({ faults: Array.from({ length: 10 }, () => ({ after: 0, mode: "end" as const })) });
    const error = await collect(client({ reconnect: { maxAttempts: 2, baseDelayMs: 1 } }).ask("hi")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BondError);
    expect((error as BondError).code).toBe("connection_lost");
    expect(seen.connections).toBe(3);
  });

  test("resume after a 'reload': the rest of the run, then 204 ends a finished run", async () => {
    const bond = client();
    const first = bond.ask("hi");
    const head = await collect(first, 5);
    const sessionId = first.sessionId ?? "";
    const rest = await collect(bond.resume(sessionId, { lastEventId: first.lastEventId ?? undefined, streamUrl: first.streamUrl ?? undefined }));
    expectWholeRun([...head, ...rest]);
    expect(seen.tokens.at(-1)).toBe(`tok-${sessionId}`);
    // Resuming after the terminal event: the server answers 204 and the iteration just ends.
    expect(await collect(bond.resume(sessionId, { lastEventId: rest.at(-1)?.eventId }))).toEqual([]);
    expect(seen.lastEventIds.at(-1)).toBe(rest.at(-1)?.eventId ?? "");
  });

  test("HTTP errors surface as BondError with the status and the server's message", async () => {
    const busy = await collect(client().ask("hi", { sessionId: "busy" })).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(BondError);
    expect((busy as BondError).status).toBe(409);
    expect((busy as BondError).message).toBe("A run is already in progress in this session");
    const missing = await collect(client().resume("nope")).catch((e: unknown) => e);
    expect((missing as BondError).status).toBe(404);
    expect((missing as BondError).message).toBe("Session not found or expired");
    await expect(client().session("nope")).rejects.toMatchObject({ status: 404 });
  });

  test("the API key goes as a bearer token", async () => {
    reset({ apiKey: "k-123" });
    expectWholeRun(await collect(client({ apiKey: "k-123" }).ask("hi")));
    expect(seen.auth.every((a) => a === "Bearer k-123")).toBe(true);
    const denied = await collect(client({ apiKey: "wrong" }).ask("hi")).catch((e: unknown) => e);
    expect((denied as BondError).status).toBe(401);
  });

  test("aborting the signal ends the stream and cancels the run on the server", async () => {
    reset({ words: 500, delayMs: 5 });
    const bond = client();
    const ctl = new AbortController();
    const run = bond.ask("hi", { signal: ctl.signal });
    const got: BondEvent[] = [];
    const error = await (async () => {
      for await (const ev of run) {
        got.push(ev);
        if (got.length === 12) ctl.abort();
      }
    })().catch((e: unknown) => e);
    expect((error as Error).name).toBe("AbortError");
    expect(got.length).toBe(12);
    expect(seen.cancels).toBe(1);
    expect((await bond.session(run.sessionId ?? "")).status).toBe("cancelled");
  });

  test("abort while POST /ask is in flight still cancels once the session is known", async () => {
    reset({ words: 500, delayMs: 5 });
    const ctl = new AbortController();
    const run = client().ask("hi", { signal: ctl.signal });
    const pending = collect(run).catch((e: unknown) => e);
    ctl.abort();
    expect(((await pending) as Error).name).toBe("AbortError");
    for (let i = 0; i < 100 && seen.cancels === 0; i++) await Bun.sleep(10);
    expect(seen.cancels).toBe(1);
  });

  test("session / cancel / delete / health", async () => {
    const bond = client();
    expect(await bond.health()).toEqual({ status: "healthy", agent_name: "fake" });
    reset({ words: 500 });
    const run = bond.ask("hi");
    await collect(run, 2);
    const id = run.sessionId ?? "";
    expect((await bond.session(id)).status).toBe("streaming");
    await bond.cancel(id);
    expect((await bond.session(id)).status).toBe("cancelled");
    await expect(bond.cancel(id)).rejects.toMatchObject({ status: 409, message: "No run in progress" });
    await bond.delete(id);
  });
});

// ---------------------------------------------------------------- WebSocket

describe("WebSocket transport", () => {
  test("streams the same events as SSE", async () => {
    const run = client({ transport: "ws" }).ask("What is 12*7?");
    const events = await collect(run);
    expectWholeRun(events);
    expect(run.sessionId).toBe(`s${sessions.size}`);
    expect(seen.wsFrames[0]).toEqual({ prompt: "What is 12*7?", new_session: true });
  });

  for (const mode of ["end", "error"] as const) {
    test(`a dropped socket (${mode === "end" ? "close 1011" : "terminate"}) resumes: each event exactly once, in order`, async () => {
      reset({ faults: [{ after: 5, mode }, { after: 0, mode }, { after: 6, mode }] });
      const run = client().ask("hi", { transport: "ws" });
      expectWholeRun(await collect(run));
      const resumes = seen.wsFrames.filter((f) => f.type === "resume");
      expect(resumes).toEqual([
        { type: "resume", session_id: run.sessionId, last_event_id: "1:5" },
        { type: "resume", session_id: run.sessionId, last_event_id: "1:5" },
        { type: "resume", session_id: run.sessionId, last_event_id: "1:11" },
      ]);
    });
  }

  test("a half-open socket (no events, no pong) is pinged, then resumed", async () => {
    reset({ faults: [{ after: 3, mode: "stall" }] });
    expectWholeRun(await collect(client({ transport: "ws", idleTimeoutMs: 200 }).ask("hi")));
    expect(seen.wsFrames.some((f) => f.type === "ping")).toBe(true);
    expect(seen.wsFrames.filter((f) => f.type === "resume")).toHaveLength(1);
  });

  test("abort sends a cancel frame; the run ends cancelled on the server", async () => {
    reset({ words: 500, delayMs: 5 });
    const bond = client({ transport: "ws" });
    const ctl = new AbortController();
    const run = bond.ask("hi", { signal: ctl.signal });
    let count = 0;
    const error = await (async () => {
      for await (const _ of run) if (++count === 10) ctl.abort();
    })().catch((e: unknown) => e);
    expect((error as Error).name).toBe("AbortError");
    expect(count).toBe(10);
    expect(seen.wsFrames.filter((f) => f.type === "cancel")).toHaveLength(1);
    expect((await bond.session(run.sessionId ?? "")).status).toBe("cancelled");
  });

  test("refusals become BondErrors with the WS code", async () => {
    const busy = await collect(client({ transport: "ws" }).ask("hi", { sessionId: "busy" })).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(BondError);
    expect((busy as BondError).code).toBe("busy");
    const missing = await collect(client({ transport: "ws" }).resume("nope")).catch((e: unknown) => e);
    expect((missing as BondError).code).toBe("not_found");
  });

  test("resume after a reload, then 'done' for a finished run", async () => {
    const bond = client({ transport: "ws" });
    const first = bond.ask("hi");
    const head = await collect(first, 7);
    const rest = await collect(bond.resume(first.sessionId ?? "", { lastEventId: first.lastEventId ?? undefined }));
    expectWholeRun([...head, ...rest]);
    expect(await collect(bond.resume(first.sessionId ?? "", { lastEventId: rest.at(-1)?.eventId }))).toEqual([]);
  });

  test("the API key is offered as the subprotocol pair 'bearer, <key>' by default", async () => {
    reset({ apiKey: "k-123" });
    expectWholeRun(await collect(client({ transport: "ws", apiKey: "k-123" }).ask("hi")));
    expect(seen.wsProtocols).toEqual(["bearer, k-123"]);
    expect(seen.auth).toEqual([null]);
  });

  test("wsAuth 'header' and 'none'", async () => {
    reset({ apiKey: "k-123" });
    expectWholeRun(await collect(client({ transport: "ws", apiKey: "k-123", wsAuth: "header" }).ask("hi")));
    expect(seen.auth).toEqual(["Bearer k-123"]);
    expect(seen.wsProtocols).toEqual([null]);
    reset({ apiKey: "k-123" });
    const denied = await collect(client({ transport: "ws", apiKey: "k-123", wsAuth: "none", reconnect: { maxAttempts: 0 } }).ask("hi")).catch((e: unknown) => e);
    expect((denied as BondError).code).toBe("connection_lost");
  });
});
