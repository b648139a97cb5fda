/**
 * One ask + stream run over HTTP/SSE on the lean HTTP/1.1 client (http1.ts):
 * the same checks as sse-client.ts (RunChecker, retry before the first event,
 * stream closed soon after the terminal event) with keep-alive sockets from a
 * pool and SSE frames parsed inside the socket's data callback. One timer per
 * run bounds it. Used where the fetch client's own overhead would be measured
 * (time to first event, fan-out lateness).
 */
import { RunChecker } from "./check.ts";
import type { ConnPool, Http1Conn, ResponseSink } from "./http1.ts";
import type { SseRunOptions, SseRunResult } from "./sse-client.ts";
import { SseParser } from "./sse-parser.ts";

export type LeanSseRunOptions = Omit<SseRunOptions, "base" | "stop" | "onOpen">;

const ASK_HEADERS = "Content-Type: application/json\r\n";
const STREAM_HEADERS = "Accept: text/event-stream\r\n";

/** Collects a small response body (the /ask JSON). */
function collect(conn: Http1Conn, method: string, path: string, headers: string, body: string | null): Promise<{ status: number; body: string } | string> {
  return new Promise((resolve) => {
    let status = 0;
    const parts: Uint8Array[] = [];
    const sink: ResponseSink = {
      onHead: (s) => (status = s),
      onBody: (c) => parts.push(c.slice()),
      onEnd: () => resolve({ status, body: Buffer.concat(parts).toString("utf8") }),
      onError: (why) => resolve(why),
    };
    conn.request(method, path, headers, body, sink);
  });
}

class StreamSink implements ResponseSink {
  status = 0;
  firstTextAt = Number.NaN;
  retrySeenFirst: boolean | null = null;
  error: string | null = null;
  private readonly parser: SseParser;
  private lateTimer: Timer | null = null;
  private ended = false;

  constructor(
    readonly checker: RunChecker,
    private readonly o: LeanSseRunOptions,
    private readonly done: () => void,
  ) {
    this.parser = new SseParser({ onEvent: (id, event, data) => this.onEvent(id, event, data) });
  }

  onHead(status: number): void {
    this.status = status;
  }
  onBody(chunk: Uint8Array): void {
    if (this.status === 200) this.parser.push(chunk);
  }
  onEnd(): void {
    this.stop();
    this.done();
  }
  onError(why: string): void {
    this.error = why;
    this.stop();
    this.done();
  }
  stop(): void {
    this.ended = true;
    if (this.lateTimer) clearTimeout(this.lateTimer);
    this.lateTimer = null;
  }

  private onEvent(id: string, event: string, data: string): void {
    if (this.retrySeenFirst === null) this.retrySeenFirst = this.parser.retry !== null;
    let content: string | undefined;
    if (event === "text") {
      const now = performance.now();
      if (this.checker.texts === 0) this.firstTextAt = now;
      this.o.textTimes?.push(now);
      if (this.o.counter) this.o.counter.texts++;
      content = (JSON.parse(data) as { content: string }).content;
    } else if (event === "complete") {
      content = (JSON.parse(data) as { data: string }).data;
    }
    this.checker.event(id, event, content);
    if (this.checker.terminal !== null && this.lateTimer === null && !this.ended) {
      // The server must close the stream right after the terminal event.
      this.lateTimer = setTimeout(() => {
        this.checker.fail("stream not closed after terminal");
        this.error = "late";
        this.done();
      }, this.o.closeGraceMs ?? 2000);
    }
  }
}

export async function leanSseRun(pool: ConnPool, o: LeanSseRunOptions): Promise<SseRunResult> {
  const askAt = performance.now();
  const res: SseRunResult = { problem: null, held: false, sessionId: null, askAt, firstTextAt: Number.NaN, endAt: Number.NaN };
  const checker = new RunChecker(o.n);
  let conn: Http1Conn | null = null;
  const timer = setTimeout(() => {
    conn?.abort("TimeoutError"); // fails the request in flight, which ends the run
  }, o.timeoutMs);
  try {
    conn = await pool.get();
    const payload = JSON.stringify(o.sessionId ? { prompt: o.prompt, session_id: o.sessionId } : { prompt: o.prompt });
    const ask = await collect(conn, "POST", "/ask", ASK_HEADERS, payload);
    if (typeof ask === "string") return fail(res, ask);
    if (ask.status !== 200) return fail(res, `ask HTTP ${ask.status}`);
    const { session_id, stream_url } = JSON.parse(ask.body) as { session_id: string; stream_url: string };
    res.sessionId = session_id;
    pool.release(conn);
    conn = await pool.get();
    let finished: () => void = () => {};
    const ended = new Promise<void>((r) => (finished = r));
    const sink = new StreamSink(checker, o, () => finished());
    conn.request("GET", stream_url, STREAM_HEADERS, null, sink);
    await ended;
    sink.stop();
    res.firstTextAt = sink.firstTextAt;
    if (sink.status === 0) return fail(res, sink.error ?? "no response");
    if (sink.status !== 200) return fail(res, `stream HTTP ${sink.status}`);
    if (sink.error !== null && sink.error !== "late") return fail(res, checker.problem ?? sink.error);
    if (sink.retrySeenFirst === false) checker.fail("no retry field before first event");
    res.problem = checker.end();
  } catch (e) {
    res.problem = checker.problem ?? (e instanceof Error ? e.message.split("\n")[0]?.slice(0, 80) ?? "error" : String(e));
  } finally {
    clearTimeout(timer);
    res.endAt = performance.now();
    if (conn) {
      if (res.problem) conn.close();
      else pool.release(conn);
    }
  }
  return res;
}

function fail(res: SseRunResult, problem: string): SseRunResult {
  res.problem = problem;
  return res;
}
