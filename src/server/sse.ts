import type { Run } from "../sessions/run.ts";
import { SSE_PING, SSE_RETRY, sseBytes } from "./encode.ts";
import type { BondRuntime } from "./runtime.ts";

export const SSE_HEADERS: Record<string, string> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

/**
 * A subscriber reading the run's log from `cursor`. Pull-based: it only takes
 * more events when the socket has taken the previous ones, so a client that
 * stops reading costs references into the shared log, never copies.
 */
export function sseResponse(runtime: BondRuntime, run: Run, startCursor: number, request: Request): Response {
  const log = run.log;
  let cursor = startCursor;
  let closed = false;
  let wake: (() => void) | null = null;
  let forget: (() => void) | null = null;
  let stopBeat: () => void = () => {};

  const cleanup = (): void => {
    if (closed) return;
    closed = true;
    stopBeat();
    forget?.();
    wake?.();
    runtime.sseStreams--;
    runtime.metrics.eventsSent.inc(cursor - startCursor, ["sse"]); // once per subscriber, never per event
    run.unsubscribe();
    request.signal.removeEventListener("abort", cleanup);
  };

  run.subscribe();
  runtime.sseStreams++;
  // Bun reports a client that left at once through the request's signal (TRAPS #2).
  request.signal.addEventListener("abort", cleanup, { once: true });

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(SSE_RETRY);
      stopBeat = runtime.heartbeat.add(() => {
        if (!closed && (controller.desiredSize ?? 0) > 0) controller.enqueue(SSE_PING);
      });
    },
    async pull(controller) {
      while (!closed) {
        const events = log.events;
        const end = events.length;
        if (cursor < end) {
          for (; cursor < end; cursor++) controller.enqueue(sseBytes(events[cursor]!));
          if (log.isEnded && cursor === events.length) finish(controller);
          return;
        }
        if (log.isEnded) return finish(controller);
        await new Promise<void>((resolve) => {
          wake = resolve;
          forget = log.onNext(resolve);
        });
        wake = null;
        forget = null;
      }
    },
    cancel() {
      cleanup();
    },
  });

  function finish(controller: ReadableStreamDefaultController<Uint8Array>): void {
    cleanup();
    controller.close();
  }

  return new Response(stream, { status: 200, headers: SSE_HEADERS });
}
