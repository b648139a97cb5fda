/** The benchmark's own checks: the SSE parser, the run checker, and both clients against the baseline server. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RunChecker } from "./check.ts";
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
