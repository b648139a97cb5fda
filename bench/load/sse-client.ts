/**
 * One ask + stream run over HTTP/SSE: POST /ask, GET the stream_url, parse the
 * frames incrementally and check the run. Bounded by `timeoutMs`; a `stop`
 * signal ends a run that is held open on purpose (idle scenario).
 */
import { RunChecker, describe } from "./check.ts";
import { SseParser, type SseSink } from "./sse-parser.ts";

export interface Counter {
  texts: number;
}

export interface SseRunOptions {
  base: string;
  n: number;
  prompt: string;
  sessionId?: string | null;
  timeoutMs: number;
  /** Shared count of text events received (throughput windows read it). */
  counter?: Counter;
  /** When given, every text event's arrival time is pushed here. */
  textTimes?: number[];
  /** Ends the run early without counting it as an error (the run is then "held"). */
  stop?: AbortSignal;
  /** Called once the stream's response (200) has arrived. */
  onOpen?: () => void;
  /** How long the server may take to close the stream after the terminal event. */
  closeGraceMs?: number;
}

export interface SseRunResult {
  problem: string | null;
  /** True when `stop` ended a run that was still open with a valid prefix. */
  held: boolean;
  sessionId: string | null;
  askAt: number;
  firstTextAt: number;
  endAt: number;
}

class Sink implements SseSink {
  firstTextAt = Number.NaN;
  retrySeenFirst: boolean | null = null;
  constructor(
    readonly checker: RunChecker,
    private readonly o: SseRunOptions,
    private readonly parser: SseParser,
  ) {}
  onEvent(id: string, event: string, data: string): void {
    if (this.retrySeenFirst === null) this.retrySeenFirst = this.parser.retry !== null;
    let content: string | undefined;
    if (event === "text") {
      const now = performance.now();
      if (this.checker.texts === 0) {
        this.firstTextAt = now;
      }
      if (this.o.textTimes) this.o.textTimes.push(now);
      if (this.o.counter) this.o.counter.texts++;
      content = (JSON.parse(data) as { content: string }).content;
    } else if (event === "complete") {
      content = (JSON.parse(data) as { data: string }).data;
    }
    this.checker.event(id, event, content);
  }
}

const CLOSED_LATE = Symbol("closed-late");

export async function sseRun(o: SseRunOptions): Promise<SseRunResult> {
  const askAt = performance.now();
  const res: SseRunResult = { problem: null, held: false, sessionId: null, askAt, firstTextAt: Number.NaN, endAt: Number.NaN };
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.stop ? AbortSignal.any([timeout, o.stop]) : timeout;
  const checker = new RunChecker(o.n);
  let sink: Sink | null = null;
  let lateTimer: Timer | null = null;
  try {
    const ask = await fetch(`${o.base}/ask`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(o.sessionId ? { prompt: o.prompt, session_id: o.sessionId } : { prompt: o.prompt }),
      signal,
    });
    if (ask.status !== 200) {
      await ask.arrayBuffer().catch(() => undefined);
      res.problem = `ask HTTP ${ask.status}`;
      return res;
    }
    const { session_id, stream_url } = (await ask.json()) as { session_id: string; stream_url: string };
    res.sessionId = session_id;
    const stream = await fetch(`${o.base}${stream_url}`, { signal });
    if (stream.status !== 200 || !stream.body) {
      await stream.arrayBuffer().catch(() => undefined);
      res.problem = `stream HTTP ${stream.status}`;
      return res;
    }
    o.onOpen?.();
    const parser = new SseParser({ onEvent: (i, e, d) => sink?.onEvent(i, e, d) });
    sink = new Sink(checker, o, parser);
    const reader = stream.body.getReader();
    let late: Promise<typeof CLOSED_LATE> | null = null;
    for (;;) {
      if (checker.terminal !== null && late === null) {
        // The server must close the stream right after the terminal event.
        late = new Promise((resolve) => {
          lateTimer = setTimeout(resolve, o.closeGraceMs ?? 2000, CLOSED_LATE);
        });
      }
      const r = late ? await Promise.race([reader.read(), late]) : await reader.read();
      if (r === CLOSED_LATE) {
        checker.fail("stream not closed after terminal");
        reader.cancel().catch(() => undefined);
        break;
      }
      if (r.done) break;
      parser.push(r.value);
    }
    if (sink.retrySeenFirst === false) checker.fail("no retry field before first event");
    res.problem = checker.end();
  } catch (e) {
    if (o.stop?.aborted && !timeout.aborted) {
      // Stopped on purpose: it counts as held if it was open, valid so far and unfinished.
      res.held = sink !== null && checker.problem === null && checker.terminal === null;
      res.problem = res.held ? null : (checker.problem ?? "not open when stopped");
    } else {
      res.problem = checker.problem ?? describe(e);
    }
  } finally {
    if (lateTimer) clearTimeout(lateTimer);
    res.endAt = performance.now();
    if (sink) res.firstTextAt = sink.firstTextAt;
  }
  return res;
}
