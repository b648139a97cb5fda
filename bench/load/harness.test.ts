/** The benchmark's own checks: the SSE and HTTP/1.1 parsers, the run checker, and the clients against the baseline server (and the lean client against Bond). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RunChecker } from "./check.ts";
import { ConnPool, ResponseParser } from "./http1.ts";
import { leanSseRun } from "./lean-sse-client.ts";
import { ThreadCpu } from "./proc.ts";
import { REPO, type ServerHandle, startServer } from "./procs.ts";
import { sseRun } from "./sse-client.ts";
import { SseParser } from "./sse-parser.ts";
import { WsClient } from "./ws-client.ts";

function parse(chunks: string[]): [string, string, string][] {
  const out: [string, string, string][] = [];
  const p = new SseParser({ onEvent: (i, e, d) => out.push([i, e, d]) });
  const enc = new TextEncoder();
  for (const c of chunks) p.push(enc.encode(c));
  return out;
}

describe("ThreadCpu", () => {
  test.skipIf(process.platform !== "linux")("counts the CPU its threads run between calls, and only theirs", async () => {
    const comm = (await Bun.file(`/proc/${process.pid}/comm`).text()).trim();
    const main = new ThreadCpu(process.pid, comm);
    const none = new ThreadCpu(process.pid, "no-such-thread");
    const until = performance.now() + 100;
    let spins = 0;
    while (performance.now() < until) spins++;
    expect(spins).toBeGreaterThan(0);
    // 100 ms of busy main thread: most of it is CPU, whatever else the machine does.
    expect(main.sinceLast()).toBeGreaterThan(20);
    expect(main.sinceLast()).toBeLessThan(20);
    expect(none.sinceLast()).toBe(0);
    expect(new ThreadCpu(2 ** 30, comm).sinceLast()).toBeNaN();
  });
});

describe("SseParser", () => {
  test("frames split anywhere across chunks, comments and retry skipped", () => {
    const text = 'retry: 1000\n\n: ping\n\nid: 1:1\nevent: text\ndata: {"content":"a"}\n\nid: 1:2\nevent: complete\ndata: {"data":"a"}\n\n';
    for (let cut = 1; cut < text.length; cut += 7) {
      expect(parse([text.slice(0, cut), text.slice(cut)])).toEqual([
        ["1:1", "text", '{"content":"a"}'],
        ["1:2", "complete", '{"data":"a"}'],
      ]);
    }
  });
  test("CRLF lines, multi-line data, a multi-byte character split between chunks", () => {
    const bytes = new TextEncoder().encode("id: 1:1\r\nevent: text\r\ndata: é\r\ndata: b\r\n\r\n");
    const out: string[] = [];
    const p = new SseParser({ onEvent: (_i, _e, d) => out.push(d) });
    const cut = 29; // inside "é"
    p.push(bytes.slice(0, cut));
    p.push(bytes.slice(cut));
    expect(out).toEqual(["é\nb"]);
  });
});

describe("RunChecker", () => {
  const run = (events: [string, string, string?][], n = 2) => {
    const c = new RunChecker(n);
    for (const [id, name, content] of events) c.event(id, name, content);
    return c.end();
  };
  const good: [string, string, string?][] = [
    ["1:1", "block_start"],
    ["1:2", "text", "a"],
    ["1:3", "text", "b"],
    ["1:4", "block_end"],
    ["1:5", "usage"],
    ["1:6", "complete", "ab"],
  ];
  test("a correct run passes", () => expect(run(good)).toBeNull());
  test("a gap in ids", () => expect(run([good[0]!, good[2]!, ...good.slice(3)])).toContain("id gap"));
  test("wrong number of text events", () => expect(run(good, 3)).toContain("text count"));
  test("complete data differs from the deltas", () => expect(run([...good.slice(0, 5), ["1:6", "complete", "ax"]])).toContain("joined"));
  test("an event after the terminal", () => expect(run([...good, ["1:7", "usage"]])).toContain("after terminal"));
  test("no terminal", () => expect(run(good.slice(0, 5))).toContain("without terminal"));
  test("an error terminal", () => expect(run([...good.slice(0, 5), ["1:6", "error"]])).toContain("terminal error"));
});

describe("clients against the baseline server", () => {
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  let base = "";
  beforeAll(async () => {
    proc = Bun.spawn([process.execPath, new URL("../baseline-server.ts", import.meta.url).pathname, "--port", "0"], {
      env: { ...process.env, BOND_DEMO_BENCH_TOKENS: "5", BOND_DEMO_DELAY_MS: "0" },
      stdout: "pipe",
    });
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    base = /http:\/\/\S+/.exec(new TextDecoder().decode(value))?.[0] ?? "";
    reader.releaseLock();
  });
  afterAll(async () => {
    proc?.kill();
    await proc?.exited;
  });

  test("SSE: two runs in one session", async () => {
    const a = await sseRun({ base, n: 5, prompt: "x", timeoutMs: 5000 });
    expect(a.problem).toBeNull();
    const b = await sseRun({ base, n: 5, prompt: "x", sessionId: a.sessionId, timeoutMs: 5000 });
    expect(b.problem).toBeNull();
    expect(b.firstTextAt).toBeGreaterThan(b.askAt);
  });
  test("SSE: a wrong N is reported", async () => {
    expect((await sseRun({ base, n: 4, prompt: "x", timeoutMs: 5000 })).problem).toContain("text count");
  });
  test("WS: runs back to back on one socket", async () => {
    const ws = new WsClient(base);
    expect(await ws.open(5000)).toBeNull();
    for (let i = 0; i < 3; i++) expect((await ws.run("x", 5, 5000)).problem).toBeNull();
    ws.close();
  });
});

// ---------- the lean HTTP/1.1 client ----------

function feed(parser: ResponseParser, bytes: Uint8Array, cuts: number[]): { status: number; body: string; ended: boolean; error: string | null } {
  const out = { status: 0, body: "", ended: false, error: null as string | null };
  const dec = new TextDecoder();
  parser.begin({
    onHead: (s) => (out.status = s),
    onBody: (c) => (out.body += dec.decode(c, { stream: true })),
    onEnd: () => (out.ended = true),
    onError: (w) => (out.error = w),
  });
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    const e = parser.push(bytes.subarray(at, c));
    if (e) out.error = e;
    at = c;
  }
  return out;
}

describe("ResponseParser", () => {
  const enc = new TextEncoder();
  const sse = 'retry: 1000\n\nid: 1:1\nevent: text\ndata: {"content":"é"}\n\n';
  const sseBytes = enc.encode(sse);
  const chunked = (() => {
    // Two chunks, the second with an extension, then a trailer-less end.
    const a = sseBytes.subarray(0, 20);
    const b = sseBytes.subarray(20);
    const parts = [enc.encode(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n${a.length.toString(16)}\r\n`), a, enc.encode(`\r\n${b.length.toString(16)};x=y\r\n`), b, enc.encode("\r\n0\r\n\r\n")];
    return Uint8Array.from(parts.flatMap((p) => [...p]));
  })();

  test("chunked SSE split at every byte, and byte by byte", () => {
    for (let cut = 1; cut < chunked.length; cut++) {
      const r = feed(new ResponseParser(), chunked, [cut]);
      expect(r).toEqual({ status: 200, body: sse, ended: true, error: null });
    }
    const single = feed(new ResponseParser(), chunked, Array.from({ length: chunked.length - 1 }, (_, i) => i + 1));
    expect(single).toEqual({ status: 200, body: sse, ended: true, error: null });
  });

  test("the SSE frames survive chunked framing split anywhere", () => {
    for (let cut = 1; cut < chunked.length; cut += 3) {
      const events: string[] = [];
      const p = new ResponseParser();
      const sp = new SseParser({ onEvent: (i, e, d) => events.push(`${i} ${e} ${d}`) });
      p.begin({ onHead: () => {}, onBody: (c) => sp.push(c), onEnd: () => {}, onError: () => {} });
      p.push(chunked.subarray(0, cut));
      p.push(chunked.subarray(cut));
      expect(events).toEqual(['1:1 text {"content":"é"}']);
    }
  });

  test("content-length body split anywhere; keep-alive unless connection: close", () => {
    const body = '{"session_id":"s","stream_url":"/stream/s"}';
    const bytes = enc.encode(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    for (let cut = 1; cut < bytes.length; cut++) {
      const p = new ResponseParser();
      expect(feed(p, bytes, [cut])).toEqual({ status: 200, body, ended: true, error: null });
      expect(p.keepAlive).toBe(true);
    }
    const p = new ResponseParser();
    feed(p, enc.encode("HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"), []);
    expect(p.keepAlive).toBe(false);
  });

  test("close-delimited body, and a connection lost mid-body", () => {
    const p = new ResponseParser();
    const r = feed(p, enc.encode("HTTP/1.1 200 OK\r\n\r\nabc"), []);
    expect(r.ended).toBe(false);
    p.closed();
    expect(r.ended).toBe(true);
    const q = new ResponseParser();
    const s = feed(q, enc.encode("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), []);
    q.closed();
    expect(s.error).toContain("closed");
  });

  test("malformed responses are errors", () => {
    expect(feed(new ResponseParser(), enc.encode("HTTX/1.1 200\r\n\r\n"), []).error).toContain("status line");
    expect(feed(new ResponseParser(), enc.encode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), []).error).toContain("chunk size");
    expect(feed(new ResponseParser(), enc.encode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n"), []).error).toContain("CRLF");
  });
});

/** A server whose stream sends exactly `body` (content-length framing), to feed the lean client bad runs. */
function fakeServer(body: string, opts: { hold?: boolean } = {}) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/ask") return Response.json({ session_id: "s", stream_url: "/stream/s" });
      if (!opts.hold) return new Response(body, { headers: { "content-type": "text/event-stream" } });
      // Sends the body, then keeps the stream open (a server that never closes after the terminal).
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(body));
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    },
  });
}

const frame = (seq: number, event: string, data: unknown) => `id: 1:${seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

describe("lean SSE client detects bad runs", () => {
  const good = `retry: 1000\n\n${frame(1, "text", { content: "a" })}${frame(2, "complete", { data: "a" })}`;
  const cases: [string, string, string, { hold?: boolean }?][] = [
    ["a correct run (content-length body)", good, ""],
    ["wrong text count", `retry: 1000\n\n${frame(1, "text", { content: "a" })}${frame(2, "text", { content: "b" })}${frame(3, "complete", { data: "ab" })}`, "text count"],
    ["complete != joined deltas", `retry: 1000\n\n${frame(1, "text", { content: "a" })}${frame(2, "complete", { data: "x" })}`, "joined"],
    ["an event after the terminal", `${good}${frame(3, "usage", {})}`, "after terminal"],
    ["no terminal", `retry: 1000\n\n${frame(1, "text", { content: "a" })}`, "without terminal"],
    ["no retry first", `${frame(1, "text", { content: "a" })}${frame(2, "complete", { data: "a" })}`, "retry"],
    ["stream held open after the terminal", good, "not closed", { hold: true }],
  ];
  for (const [name, body, problem, opts] of cases) {
    test(name, async () => {
      const srv = fakeServer(body, opts);
      const pool = new ConnPool(`http://127.0.0.1:${srv.port}`);
      const r = await leanSseRun(pool, { n: 1, prompt: "x", timeoutMs: 5000, closeGraceMs: 200 });
      pool.close();
      srv.stop(true);
      if (problem) expect(r.problem).toContain(problem);
      else expect(r.problem).toBeNull();
    });
  }
  test("a refused connection is a problem, not a throw", async () => {
    const srv = fakeServer(good);
    const port = srv.port;
    srv.stop(true);
    const r = await leanSseRun(new ConnPool(`http://127.0.0.1:${port}`), { n: 1, prompt: "x", timeoutMs: 2000 });
    expect(r.problem).not.toBeNull();
  });
});

describe("lean SSE client against the real servers", () => {
  const servers: ServerHandle[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });
  const env = (n: number) => ({ ...process.env, BOND_MODEL: "demo", BOND_DEMO_BENCH_TOKENS: String(n), BOND_DEMO_DELAY_MS: "0", BOND_LOG_LEVEL: "warn" });
  const bun = process.execPath;
  for (const who of ["baseline", "bond"] as const) {
    test(`${who}: sequential runs on one keep-alive socket, multi-turn, and a wrong N caught`, async () => {
      const argv = who === "bond" ? [bun, "run", "index.ts", "--host", "127.0.0.1", "--port", "0"] : [bun, `${REPO}/bench/baseline-server.ts`, "--host", "127.0.0.1", "--port", "0"];
      const srv = await startServer(who, argv, env(5), "");
      servers.push(srv);
      const pool = new ConnPool(srv.base);
      let sessionId: string | null = null;
      for (let i = 0; i < 5; i++) {
        const r = await leanSseRun(pool, { n: 5, prompt: "hello", sessionId, timeoutMs: 5000 });
        expect(r.problem).toBeNull();
        expect(r.firstTextAt).toBeGreaterThan(r.askAt);
        sessionId = r.sessionId;
      }
      expect(pool.opened).toBe(1);
      expect((await leanSseRun(pool, { n: 4, prompt: "x", timeoutMs: 5000 })).problem).toContain("text count");
      // After a failed run its socket is dropped; the next run opens a new one and passes.
      expect((await leanSseRun(pool, { n: 5, prompt: "x", timeoutMs: 5000 })).problem).toBeNull();
      expect(pool.opened).toBe(2);
      pool.close();
    }, 30_000);
  }
});

describe("bench command line", () => {
  const bench = (...args: string[]) => Bun.spawnSync([process.execPath, `${REPO}/bench/run.ts`, ...args], { cwd: REPO, stdout: "pipe", stderr: "pipe", timeout: 20_000 });

  test("--help prints the usage and starts nothing", () => {
    const r = bench("--help");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toContain("usage: bun run bench");
  });

  test("a mistyped option or a missing value is refused before any run starts", () => {
    const typo = bench("--run", "1");
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr.toString()).toContain("unknown argument --run");
    const missing = bench("--quick", "--only");
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr.toString()).toContain("--only needs a value");
  });
});
