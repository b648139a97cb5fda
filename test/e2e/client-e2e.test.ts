/**
 * The client SDK against the real Bond server (demo model) over real sockets on 127.0.0.1:
 * both transports with a tool call, multi-turn sessions, resume after connections dropped
 * mid-run (each event exactly once, in order), and abort → the run is cancelled on the server.
 */
import { describe, expect, test } from "bun:test";
import { BondClient, BondError, RunAccumulator, accumulate, type BondClientOptions, type BondEvent, type FetchLike, type Transport, type WebSocketConstructor } from "../../src/client/index.ts";
import { startServer, waitUntil, type TestServer, serversStoppedAfterAll } from "../helpers/server.ts";

const server = serversStoppedAfterAll();

const fast = server({ demo_delay_ms: 2 });
const slow = server({ demo_delay_ms: 25 });
const TRANSPORTS: Transport[] = ["sse", "ws"];

function client(s: TestServer, extra: Partial<BondClientOptions> = {}): BondClient {
  return new BondClient({ baseUrl: s.url, reconnect: { baseDelayMs: 10, maxDelayMs: 50 }, ...extra });
}

async function collect(iterable: AsyncIterable<BondEvent>): Promise<BondEvent[]> {
  const out: BondEvent[] = [];
  for await (const ev of iterable) {
    out.push(ev);
    if (out.length > 5000) throw new Error("runaway stream");
  }
  return out;
}

/** Each event once, in order: ids 1..n of one run with no gap, and identical to the server's own replay. */
async function expectExactlyOnce(bond: BondClient, sessionId: string, events: BondEvent[]): Promise<void> {
  const run = events[0]?.eventId.split(":")[0];
  expect(events.map((e) => e.eventId)).toEqual(events.map((_, i) => `${run}:${i + 1}`));
  const replay = await collect(bond.resume(sessionId)); // no last id: the latest run from its start
  expect(events).toEqual(replay);
  expect(events.at(-1)?.type).toBe("complete");
}

/** A fetch whose n-th /stream response dies after `cuts[n]` bytes (mid-frame), like a network drop. */
function droppingFetch(cuts: number[]): { fetch: FetchLike; lastEventIds: Array<string | null> } {
  const lastEventIds: Array<string | null> = [];
  let connection = 0;
  const wrapped: FetchLike = async (input, init) => {
    const res = await fetch(input, init);
    if (!String(input).includes("/stream/") || !res.body) return res;
    lastEventIds.push(new Headers(init?.headers).get("last-event-id"));
    const limit = cuts[connection++];
    if (limit === undefined) return res;
    const reader = res.body.getReader();
    let passed = 0;
    let cut = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (cut) {
          await reader.cancel(); // really close the connection to the server
          return controller.error(new TypeError("injected network error"));
        }
        const { done, value } = await reader.read();
        if (done) return controller.close();
        if (passed + value.length >= limit) {
          controller.enqueue(value.subarray(0, limit - passed)); // the tail of a frame never arrives
          cut = true;
          return;
        }
        passed += value.length;
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
  return { fetch: wrapped, lastEventIds };
}

/** A WebSocket whose n-th connection is closed by the client after `after[n]` messages. */
function droppingWebSocket(after: number[]): { WebSocket: WebSocketConstructor; connections: () => number } {
  let connection = 0;
  const Dropping = class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      const limit = after[connection++];
      if (limit === undefined) return;
      let seen = 0;
      this.addEventListener("message", () => {
        if (++seen === limit) this.close(4000, "injected drop");
      });
    }
  };
  return { WebSocket: Dropping, connections: () => connection };
}

describe("client SDK ↔ real server", () => {
  for (const transport of TRANSPORTS) {
    test(`${transport}: arithmetic runs the calculator, and the accumulator folds the run`, async () => {
      const bond = client(fast, { transport });
      const run = bond.ask("What is 12*7?");
      const acc = new RunAccumulator();
      for await (const ev of run) acc.push(ev);
      const state = acc.state;
      expect(state.status).toBe("completed");
      expect(state.thinking.length).toBeGreaterThan(0);
      expect(state.toolCalls).toEqual([
        expect.objectContaining({ name: "calculator", args: { expression: "12*7" }, result: "84", isError: false, state: "done" }),
      ]);
      expect(state.text).toContain("84");
      expect(state.output).toContain("84");
      expect(state.usage?.total_tokens).toBe((state.usage?.prompt_tokens ?? 0) + (state.usage?.completion_tokens ?? 0));
      expect(run.sessionId).toMatch(/^[A-Za-z0-9._:-]+$/);
      const info = await bond.session(run.sessionId ?? "");
      expect(info.status).toBe("completed");
      expect(info.runs).toBe(1);
    });

    test(`${transport}: a session remembers the conversation`, async () => {
      const bond = client(fast, { transport });
      const first = bond.ask("My name is Alice.");
      await collect(first);
      const second = await accumulate(bond.ask("What is my name?", { sessionId: first.sessionId ?? "" }));
      expect(second.output).toContain("Your name is Alice.");
      expect((await bond.session(first.sessionId ?? "")).runs).toBe(2);
    });
  }

  test("sse: connections dropped mid-frame resume with Last-Event-ID; each event exactly once, in order", async () => {
    const dropping = droppingFetch([700, 450]);
    const bond = client(fast, { fetch: dropping.fetch });
    const run = bond.ask("Tell me about streams and rivers and the sea");
    const events = await collect(run);
    expect(dropping.lastEventIds).toHaveLength(3); // two drops, two resumes
    expect(dropping.lastEventIds[0]).toBeNull();
    expect(dropping.lastEventIds[1]).toMatch(/^1:\d+$/);
    await expectExactlyOnce(bond, run.sessionId ?? "", events);
  });

  test("ws: sockets dropped mid-run resume; each event exactly once, in order", async () => {
    const dropping = droppingWebSocket([9, 6]);
    const bond = client(fast, { transport: "ws", WebSocket: dropping.WebSocket });
    const run = bond.ask("Tell me about streams and rivers and the sea");
    const events = await collect(run);
    expect(dropping.connections()).toBe(3); // two drops, two resumes
    await expectExactlyOnce(bond, run.sessionId ?? "", events);
  });

  for (const transport of TRANSPORTS) {
    test(`${transport}: aborting the signal stops the stream and cancels the run on the server`, async () => {
      const bond = client(slow, { transport });
      const ctl = new AbortController();
      const run = bond.ask("Tell me a long story about streams", { signal: ctl.signal });
      const acc = new RunAccumulator();
      const error = await (async () => {
        for await (const ev of run) {
          acc.push(ev);
          if (ev.type === "text") ctl.abort();
        }
      })().catch((e: unknown) => e);
      expect((error as Error).name).toBe("AbortError");
      expect(acc.markCancelled().state.status).toBe("cancelled");
      const id = run.sessionId ?? "";
      await waitUntil(async () => (await bond.session(id)).status === "cancelled", 3000, "the run to be cancelled");
    });
  }

  test("HTTP errors are BondErrors with the server's status and message", async () => {
    const bond = client(slow);
    const running = bond.ask("Tell me a long story");
    const iterator = running[Symbol.asyncIterator]();
    await iterator.next(); // the run is now in progress
    const busy = await collect(bond.ask("again", { sessionId: running.sessionId ?? "" })).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(BondError);
    expect((busy as BondError).status).toBe(409);
    const wsBusy = await collect(bond.ask("again", { sessionId: running.sessionId ?? "", transport: "ws" })).catch((e: unknown) => e);
    expect((wsBusy as BondError).code).toBe("busy");
    await bond.cancel(running.sessionId ?? "");
    await iterator.return?.();
    await expect(bond.session("no-such-session")).rejects.toMatchObject({ status: 404, message: "Session not found or expired" });
    await expect(collect(bond.ask("   "))).rejects.toMatchObject({ status: 400 });
  });

  test("with API keys: bearer over HTTP, the header form for Bun's WebSocket, 401 without", async () => {
    const secured = server({ demo_delay_ms: 0, api_keys: ["k-e2e"] });
    expect((await client(secured).health()).status).toBe("healthy");
    const sse = await accumulate(client(secured, { apiKey: "k-e2e" }).ask("What is 2+3?"));
    expect(sse.output).toContain("5");
    const ws = await accumulate(client(secured, { apiKey: "k-e2e", transport: "ws", wsAuth: "header" }).ask("What is 2+3?"));
    expect(ws.output).toContain("5");
    await expect(collect(client(secured).ask("hi"))).rejects.toMatchObject({ status: 401 });
  });

  test("delete forgets the session", async () => {
    const bond = client(fast);
    const run = bond.ask("hello");
    await collect(run);
    await bond.delete(run.sessionId ?? "");
    await expect(bond.session(run.sessionId ?? "")).rejects.toMatchObject({ status: 404 });
  });
});
