/**
 * One WebSocket per client; runs go back to back on it: send {prompt}, expect
 * {"t":"session"}, the run's events (each with "i"), then {"t":"done"}.
 */
import { RunChecker, describe } from "./check.ts";
import type { Counter } from "./sse-client.ts";

interface WsFrame {
  t: string;
  i?: string;
  c?: string;
  data?: string;
  code?: string;
  error?: string;
}

export interface WsRunResult {
  problem: string | null;
  askAt: number;
  firstTextAt: number;
  endAt: number;
}

export class WsClient {
  private ws: WebSocket | null = null;
  private checker: RunChecker | null = null;
  private sawSession = false;
  private result: WsRunResult | null = null;
  private finish: (() => void) | null = null;

  constructor(
    private readonly base: string,
    private readonly counter?: Counter,
  ) {}

  /** Opens the socket; resolves with a problem string or null. */
  open(timeoutMs: number): Promise<string | null> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`${this.base.replace(/^http/, "ws")}/ws`);
      const timer = setTimeout(() => {
        ws.close();
        resolve("ws open timeout");
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        this.ws = ws;
        resolve(null);
      };
      ws.onerror = () => {
        clearTimeout(timer);
        resolve("ws open error");
      };
      ws.onclose = () => this.end("socket closed during run");
      ws.onmessage = (ev) => this.onMessage(ev.data as string);
    });
  }

  run(prompt: string, n: number, timeoutMs: number): Promise<WsRunResult> {
    const askAt = performance.now();
    const result: WsRunResult = { problem: null, askAt, firstTextAt: Number.NaN, endAt: Number.NaN };
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      result.problem = "socket not open";
      return Promise.resolve(result);
    }
    this.checker = new RunChecker(n);
    this.sawSession = false;
    this.result = result;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.end("TimeoutError"), timeoutMs);
      this.finish = () => {
        clearTimeout(timer);
        resolve(result);
      };
      try {
        ws.send(JSON.stringify({ prompt }));
      } catch (e) {
        this.end(describe(e));
      }
    });
  }

  close(): void {
    this.ws?.close();
    this.ws = null;
  }

  private onMessage(raw: string): void {
    const checker = this.checker;
    const result = this.result;
    if (!checker || !result) return; // nothing expected between runs
    let m: WsFrame;
    try {
      m = JSON.parse(raw) as WsFrame;
    } catch {
      return this.end("frame is not JSON");
    }
    if (m.i !== undefined) {
      if (!this.sawSession) checker.fail("no session frame before first event");
      if (m.t === "text") {
        if (checker.texts === 0) result.firstTextAt = performance.now();
        if (this.counter) this.counter.texts++;
      }
      checker.event(m.i, m.t, m.t === "text" ? m.c : m.t === "complete" ? m.data : undefined);
      return;
    }
    switch (m.t) {
      case "session":
        this.sawSession = true;
        return;
      case "done":
        return this.end(checker.end());
      case "error":
        return this.end(`refused ${m.code ?? "?"}`);
      case "pong":
        return;
      default:
        checker.fail(`unexpected frame ${m.t}`);
    }
  }

  private end(problem: string | null): void {
    const result = this.result;
    const finish = this.finish;
    if (!result || !finish) return;
    result.problem = problem ?? this.checker?.problem ?? null;
    result.endAt = performance.now();
    this.result = null;
    this.checker = null;
    this.finish = null;
    finish();
  }
}
