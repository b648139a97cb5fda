import { afterAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import type { ServerConfig } from "../../src/config.ts";
import { askOk, getJson, startServer, waitUntil, type TestServer, type TestServerOptions } from "../helpers/server.ts";
import { readSse } from "../helpers/sse.ts";
import { openWs } from "../helpers/ws.ts";
import { checkRunInvariants, fromSse, fromWs } from "../helpers/invariants.ts";
import { ScriptedModel, text, usage } from "../helpers/scripted-model.ts";

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});
function server(config: Partial<ServerConfig> = {}, options: TestServerOptions = {}): TestServer {
  const s = startServer({ log_level: "silent", ...config }, options);
  servers.push(s);
  return s;
}

const MiB = 1024 * 1024;

function heap(): { rss: number; heapUsed: number } {
  Bun.gc(true);
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

/** A masked client text frame (RFC 6455 §5.2; an all-zero mask keeps the payload as is). */
function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, 0x80 | n]) : Buffer.from([0x81, 0x80 | 126, n >> 8, n & 255]);
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

const UPGRADE = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/** A client that sends its request and then never reads: the kernel buffers fill and the server must cope. */
async function stalledSse(s: TestServer, sessionId: string): Promise<Socket> {
  const socket = await Bun.connect({ hostname: "127.0.0.1", port: Number(new URL(s.url).port), socket: { data() {} } });
  socket.write(`GET /stream/${sessionId} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  socket.pause();
  return socket;
}

/**
 * A WebSocket client that resumes `sessionId` and then stops reading. `resumeReading()` starts
 * reading again and parses the server's frames: the run-event ids it got, and the close code.
 */
async function stalledWs(s: TestServer, sessionId: string) {
  let upgraded = false;
  let buffer = Buffer.alloc(0);
  const ids: string[] = [];
  let closeCode: number | null = null;
  let onClose: () => void = () => {};
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const parse = (): void => {
    for (;;) {
      if (buffer.length < 2) return;
      const opcode = buffer[0]! & 0x0f;
      let len = buffer[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buffer.length < 4) return;
        len = buffer.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buffer.length < 10) return;
        len = Number(buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (buffer.length < at + len) return;
      const payload = buffer.subarray(at, at + len);
      if (opcode === 0x1) {
        const id = /"i":"([^"]+)"\}$/.exec(payload.toString())?.[1];
        if (id) ids.push(id);
      } else if (opcode === 0x8) {
        closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        onClose();
      }
      buffer = buffer.subarray(at + len);
    }
  };
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port: Number(new URL(s.url).port),
    socket: {
      data(sock, chunk) {
        if (!upgraded) {
          const end = chunk.indexOf("\r\n\r\n");
          upgraded = true;
          sock.write(clientTextFrame(JSON.stringify({ type: "resume", session_id: sessionId })));
          sock.pause();
          buffer = Buffer.from(chunk.subarray(end + 4));
          return;
        }
        buffer = Buffer.concat([buffer, chunk]);
        parse();
      },
      close() {
        onClose();
      },
    },
  });
  socket.write(UPGRADE("/ws"));
  await waitUntil(() => upgraded, 5000, "the upgrade");
  return {
    socket,
    ids,
    get closeCode() {
      return closeCode;
    },
    closed,
    resumeReading() {
      parse();
      socket.resume();
    },
  };
}

/**
 * An SSE reader that counts events without keeping them (so the test process holds little), and
 * looks only at each frame's head: a `complete` frame carries the whole answer, which may be huge.
 */
async function countSse(url: string): Promise<{ events: number; last: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(url);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let events = 0;
  let last = "";
  let head = ""; // the first characters of the frame being read
  let carry = ""; // a trailing "\n" that may start a frame boundary
  const HEAD = 120;
  const frameEnded = (): void => {
    if (head.startsWith("id: ")) {
      events++;
      last = /\nevent: (\w+)/.exec(head)?.[1] ?? "";
    }
    head = "";
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const str = carry + decoder.decode(value, { stream: true });
    carry = "";
    let i = 0;
    for (;;) {
      const j = str.indexOf("\n\n", i);
      if (j < 0) {
        let end = str.length;
        if (end > i && str[end - 1] === "\n") {
          carry = "\n";
          end--;
        }
        if (head.length < HEAD) head += str.slice(i, Math.min(end, i + HEAD));
        break;
      }
      if (head.length < HEAD) head += str.slice(i, Math.min(j, i + HEAD));
      frameEnded();
      i = j + 2;
    }
  }
  return { events, last, ms: performance.now() - started };
}

describe("clients that read nothing while a run streams 100 000 events", () => {
  test("server memory stays bounded, a normal client on the same server completes, everything is released", async () => {
    const s = server({ demo_bench_tokens: 100_000, demo_delay_ms: 0, disconnect_grace_seconds: 60 });
    // Warm up (JIT, buffers), then take the baseline.
    const warm = await askOk(s.url, "warm up");
    const alone = await countSse(`${s.url}/stream/${warm}`);
    expect(alone.events).toBe(100_004);
    await fetch(`${s.url}/sessions/${warm}`, { method: "DELETE" });
    const base = heap();

    const id = await askOk(s.url, "flood");
    // Everyone connects at once, while the run streams; the normal client follows it live.
    const normalRun = countSse(`${s.url}/stream/${id}`);
    const stalled: Socket[] = await Promise.all([
      ...Array.from({ length: 20 }, () => stalledSse(s, id)),
      ...Array.from({ length: 20 }, async () => (await stalledWs(s, id)).socket),
    ]);
    const normal = await normalRun;
    expect(normal.events).toBe(100_004); // block_start, 100 000 texts, block_end, usage, complete
    expect(normal.last).toBe("complete");
    // Not slowed down by the 40 stalled clients beyond noise (the alone run was read the same way).
    expect(normal.ms).toBeLessThan(alone.ms * 5 + 2000);
    const during = heap();

    for (const socket of stalled) socket.end();
    await waitUntil(() => s.app.bond.sockets.size === 0 && s.app.bond.sseStreams === 0, 10_000, "the stalled clients to be gone");
    await fetch(`${s.url}/sessions/${id}`, { method: "DELETE" });
    await waitUntil(() => s.app.bond.heartbeat.size === 0, 5000, "heartbeats to be released");
    // Closed sockets and cancelled streams are let go asynchronously: give the collector a few rounds.
    let after = heap();
    for (let i = 0; i < 20 && (after.heapUsed - base.heapUsed) / MiB >= 30; i++) {
      await Bun.sleep(250);
      after = heap();
    }

    const growth = (during.heapUsed - base.heapUsed) / MiB;
    const rssGrowth = (during.rss - base.rss) / MiB;
    console.log(
      `[bounds] 100k events, 20 stalled SSE + 20 stalled WS: normal client ${normal.ms.toFixed(0)} ms (alone ${alone.ms.toFixed(0)} ms); ` +
        `heap +${growth.toFixed(1)} MiB, rss +${rssGrowth.toFixed(1)} MiB during; ` +
        `after release heap ${((after.heapUsed - base.heapUsed) / MiB).toFixed(1)} MiB, rss ${((after.rss - base.rss) / MiB).toFixed(1)} MiB vs baseline`,
    );
    // The run's own log (shared by every subscriber) is most of it; 40 stalled clients must not multiply it.
    expect(growth).toBeLessThan(150);
    expect(rssGrowth).toBeLessThan(400);
    expect((after.heapUsed - base.heapUsed) / MiB).toBeLessThan(30);
  }, 60_000);
});

describe("a WebSocket client that stops reading", () => {
  test("is closed with 1013 after the grace; it resumes from its last event and gets the rest exactly once", async () => {
    const CHUNK = "x".repeat(64 * 1024);
    // 25 MiB of deltas, and as much again in `complete`, which carries the whole answer.
    const model = new ScriptedModel(() => [...Array.from({ length: 400 }, () => text(CHUNK)), usage()]);
    const s = server({ slow_client_grace_seconds: 0.5, disconnect_grace_seconds: 30 }, { model });
    const id = await askOk(s.url, "flood");
    const slow = await stalledWs(s, id);
    const bystander = await openWs(s.wsUrl);
    bystander.send({ type: "resume", session_id: id });
    await bystander.waitFor((f) => f.t === "done", 0, 30_000);
    expect(checkRunInvariants(fromWs(bystander.frames)).type).toBe("complete");
    bystander.close();

    // The server gave up on the stalled socket without waiting for it to read.
    await waitUntil(() => s.app.bond.sockets.size === 0, 5000, "the slow socket to be closed");
    slow.resumeReading();
    await Promise.race([slow.closed, Bun.sleep(10_000)]);
    expect(slow.closeCode).toBe(1013);
    const got = slow.ids.length;
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(404);

    const again = await openWs(s.wsUrl);
    again.send({ type: "resume", session_id: id, last_event_id: slow.ids.at(-1) });
    await again.waitFor((f) => f.t === "done", 0, 30_000);
    const rest = fromWs(again.frames);
    const all = [...slow.ids, ...rest.map((e) => e.id)];
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => `1:${i + 1}`));
    expect(rest.at(-1)!.type).toBe("complete");
    again.close();
  }, 60_000);

  test("a client that keeps up is never closed, even with a short grace", async () => {
    const s = server({ slow_client_grace_seconds: 0.2, demo_delay_ms: 5 });
    const ws = await openWs(s.wsUrl);
    ws.send({ prompt: "Tell me a story" });
    await ws.waitFor((f) => f.t === "done", 0, 20_000);
    expect(checkRunInvariants(fromWs(ws.frames)).type).toBe("complete");
    ws.close();
  });
});

describe("an SSE client that stops reading", () => {
  test("holds a bounded slice of references into the shared log, never copies: 20 of them on a 50 MiB stream", async () => {
    const CHUNK = "y".repeat(64 * 1024);
    const model = new ScriptedModel(() => [...Array.from({ length: 400 }, () => text(CHUNK)), usage()]);
    const s = server({ disconnect_grace_seconds: 30 }, { model });
    const warm = await askOk(s.url, "warm");
    await countSse(`${s.url}/stream/${warm}`);
    await fetch(`${s.url}/sessions/${warm}`, { method: "DELETE" });
    const base = heap();
    const id = await askOk(s.url, "flood");
    const stalled = [];
    for (let i = 0; i < 20; i++) stalled.push(await stalledSse(s, id));
    const normal = await countSse(`${s.url}/stream/${id}`);
    expect(normal.last).toBe("complete");
    await Bun.sleep(200);
    const during = heap();
    const growth = (during.rss - base.rss) / MiB;
    console.log(`[bounds] 50 MiB stream, 20 stalled SSE clients: rss +${growth.toFixed(1)} MiB, heap +${((during.heapUsed - base.heapUsed) / MiB).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(250); // copies would be 1 000 MiB
    for (const socket of stalled) socket.end();
  }, 60_000);
});

describe("an SSE client that stops reading while the run goes on", () => {
  test("is cut off after the grace, dropping what it held; the others and the run carry on", async () => {
    const CHUNK = "w".repeat(64 * 1024);
    const model = new ScriptedModel(() => [...Array.from({ length: 200 }, () => text(CHUNK)), { pause: 20_000 }, usage()]);
    const s = server({ slow_client_grace_seconds: 0.5, heartbeat_seconds: 0.2, disconnect_grace_seconds: 30 }, { model });
    const id = await askOk(s.url, "flood, then think for a while");
    const run = s.app.bond.sessions.get(id)!.latestRun!;
    const stalled = await Promise.all(Array.from({ length: 5 }, () => stalledSse(s, id)));
    await waitUntil(() => s.app.bond.sseStreams === 5, 5000, "the stalled readers to subscribe");
    const started = Date.now();
    await waitUntil(() => s.app.bond.sseStreams === 0, 10_000, "the stalled readers to be cut off");
    expect(Date.now() - started).toBeGreaterThanOrEqual(400); // not before the grace
    expect(run.isRunning).toBe(true);
    expect(run.subscriberCount).toBe(0);
    // A reader that keeps up is not affected: it follows the rest of the run live.
    const normal = countSse(`${s.url}/stream/${id}`);
    await waitUntil(() => s.app.bond.sseStreams === 1, 5000, "the normal reader");
    await Bun.sleep(1000); // several graces: it is waiting for events, not stalled
    expect(s.app.bond.sseStreams).toBe(1);
    await fetch(`${s.url}/sessions/${id}/cancel`, { method: "POST" });
    const got = await normal;
    expect(got.last).toBe("cancelled");
    expect(got.events).toBe(200 + 4); // block_start, 200 texts, block_end, usage, cancelled
    for (const socket of stalled) socket.end();
  }, 30_000);
});

describe("a run's event log is bounded", () => {
  test("past max_run_events the run ends with usage then error; the server stays healthy", async () => {
    const s = server({ demo_bench_tokens: 5000, demo_delay_ms: 0, max_run_events: 1000 });
    const id = await askOk(s.url, "flood");
    const stream = await readSse(`${s.url}/stream/${id}`);
    const events = fromSse(stream.events);
    expect(events.length).toBeLessThanOrEqual(1000);
    const terminal = checkRunInvariants(events);
    expect(terminal.type).toBe("error");
    expect(terminal.data.error as string).toContain("limit");
    expect(events.at(-2)!.type).toBe("usage");
    const session = await getJson(`${s.url}/sessions/${id}`);
    expect(session.json.status).toBe("error");
    // Same over WebSocket.
    const ws = await openWs(s.wsUrl);
    ws.send({ prompt: "again", session_id: id });
    await ws.waitFor((f) => f.t === "done", 0, 20_000);
    const wsEvents = fromWs(ws.frames);
    expect(wsEvents.length).toBeLessThanOrEqual(1000);
    expect(checkRunInvariants(wsEvents).type).toBe("error");
    ws.close();
    expect((await getJson(`${s.url}/health`)).json.status).toBe("healthy");
    expect(s.app.bond.sessions.runningRuns.size).toBe(0);
  }, 30_000);

  test("past max_run_bytes likewise; the next run in the same session works", async () => {
    const CHUNK = "z".repeat(1000);
    const model = new ScriptedModel((request) =>
      request.messages.at(-1)?.content === "big" ? [...Array.from({ length: 200 }, () => text(CHUNK)), usage()] : [text("ok"), usage()],
    );
    const s = server({ max_run_bytes: 64 * 1024 }, { model });
    const id = await askOk(s.url, "big");
    const events = fromSse((await readSse(`${s.url}/stream/${id}`)).events);
    const terminal = checkRunInvariants(events);
    expect(terminal.type).toBe("error");
    const texts = events.filter((e) => e.type === "text").length;
    expect(texts).toBeGreaterThan(40);
    expect(texts).toBeLessThan(70);
    await askOk(s.url, "small", id);
    const next = fromSse((await readSse(`${s.url}/stream/${id}`)).events);
    expect(checkRunInvariants(next).type).toBe("complete");
    expect(next[0]!.id).toBe("2:1");
  }, 30_000);
});
