import type { Run } from "../sessions/run.ts";
import { SSE_PING, SSE_RETRY, sseChunkFrom } from "./encode.ts";
import type { BondRuntime } from "./runtime.ts";

export const SSE_HEADERS: Record<string, string> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

/**
 * Most bytes one pull hands over. A client that stops reading then holds at most this much
 * of the (shared) log in its stream, plus what Bun buffers for its socket.
 */
const PULL_BUDGET_BYTES = 256 * 1024;

/**
 * A subscriber reading the run's log from `cursor`. Pull-based: it only takes
 * more events when the socket has taken the previous ones, so a client that
 * stops reading costs a bounded slice of references into the shared log, never copies.
 * One that takes nothing for `slow_client_grace_seconds` while data waits is cut off
 * (checked at each heartbeat); it can resume with Last-Event-ID.
 */
export function sseResponse(runtime: BondRuntime, run: Run, startCursor: number, request: Request): Response {
  const log = run.log;
  let cursor = startCursor;
  let closed = false;
  /** The pending pull's wake-up, registered with the log while it waits for more. */
  let wake: (() => void) | null = null;
  let stopBeat: () => void = () => {};
  /** When a pull last returned with data handed over and no pull has come since (0: none pending). */
  let handedAt = 0;
  const graceMs = runtime.config.slow_client_grace_seconds * 1000;

  const cleanup = (): void => {
    if (closed) return;
    closed = true;
    stopBeat();
    if (wake) {
      log.offNext(wake);
      wake();
    }
    runtime.sseStreams--;
    runtime.metrics.eventsSent.inc(cursor - startCursor, ["sse"]); // once per subscriber, never per event
    run.unsubscribe();
    request.signal.removeEventListener("abort", cleanup);
  };

  run.subscribe();
  runtime.sseStreams++;
  // Bun reports a client that left at once through the request's signal (TRAPS #2).
  request.signal.addEventListener("abort", cleanup, { once: true });

  const stream = new ReadableStream<Uint8Array | string>({
    start(controller) {
      controller.enqueue(SSE_RETRY);
      stopBeat = runtime.heartbeat.add(() => {
        if (closed) return;
        if (handedAt !== 0 && Date.now() - handedAt > graceMs) {
          // It took nothing for a whole grace: drop it, and what it holds (it may resume).
          cleanup();
          controller.error(new Error("client too slow"));
          return;
        }
        if ((controller.desiredSize ?? 0) > 0) controller.enqueue(SSE_PING);
      });
    },
    async pull(controller) {
      handedAt = 0;
      while (!closed) {
        if (cursor < log.length) {
          // One chunk of at most about PULL_BUDGET_BYTES (counted in characters: cheap, close enough).
          const chunk = sseChunkFrom(log, cursor, PULL_BUDGET_BYTES);
          cursor = chunk.to;
          controller.enqueue(chunk.text);
          if (log.isEnded && cursor === log.length) finish(controller);
          else handedAt = Date.now();
          return;
        }
        if (log.isEnded) return finish(controller);
        await new Promise<void>((resolve) => {
          wake = resolve;
          log.onNext(resolve);
        });
        wake = null;
      }
    },
    cancel() {
      cleanup();
    },
  });

  function finish(controller: ReadableStreamDefaultController<Uint8Array | string>): void {
    cleanup();
    controller.close();
  }

  return new Response(stream, { status: 200, headers: SSE_HEADERS });
}
