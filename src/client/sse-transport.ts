/**
 * A run over HTTP + SSE: `POST /ask`, then follow the returned `stream_url`, resuming with
 * `Last-Event-ID` whenever the connection drops before the terminal event.
 */
import { backoffDelay, sleep } from "./backoff.ts";
import { decodeSseMessage, isTerminal } from "./decode.ts";
import { BondError, isTransientStatus } from "./errors.ts";
import { describe } from "./http.ts";
import { CANCEL_SETTLE_MS, type RunHandle, type RunStart, type TransportContext, settleWithin } from "./run-handle.ts";
import { SseParser } from "./sse-parser.ts";
import type { AskResponse, BondEvent } from "./types.ts";
import { IdleWatchdog } from "./watchdog.ts";

const DEFAULT_BASE_DELAY_MS = 500;

export async function* sseEvents(
  ctx: TransportContext,
  handle: RunHandle,
  start: RunStart,
  signal: AbortSignal | undefined,
): AsyncGenerator<BondEvent, void, undefined> {
  signal?.throwIfAborted();
  // The server-side cancel fires on abort even if the caller never pulls again; it needs the session id.
  let cancelled: Promise<unknown> | null = null;
  let sessionKnown: Promise<unknown> = Promise.resolve();
  const cancelOnServer = (): void => {
    cancelled ??= sessionKnown.then(() => {
      if (handle.sessionId) return ctx.http.request("POST", ctx.http.route("sessions", handle.sessionId, "cancel"));
      return undefined;
    });
    cancelled.catch(() => undefined); // 409: the run had already ended — nothing to do
  };
  signal?.addEventListener("abort", cancelOnServer, { once: true });

  try {
    if (start.kind === "ask") {
      // Not tied to the signal: once sent, the run may have started, and only its answer names it.
      const asked = ctx.http.json<AskResponse>("POST", ctx.http.route("ask"), {
        prompt: start.prompt,
        session_id: start.sessionId ?? null,
      });
      sessionKnown = asked.then((res) => handle.setSession(res.session_id)).catch(() => undefined);
      const res = await raceAbort(asked, signal);
      handle.setSession(res.session_id);
      handle.streamUrl = res.stream_url;
    } else {
      handle.setSession(start.sessionId);
      handle.streamUrl = start.streamUrl ?? `/stream/${encodeURIComponent(start.sessionId)}`;
    }
    const url = ctx.http.resolve(handle.streamUrl ?? "");

    let attempt = 0;
    let serverRetryMs: number | undefined;
    for (;;) {
      let lastError: unknown;
      const conn = new AbortController();
      const unlink = link(signal, conn);
      const watchdog = new IdleWatchdog(ctx.idleTimeoutMs, () =>
        conn.abort(new BondError("the stream went silent", { code: "connection_lost" })),
      );
      try {
        const headers = ctx.http.headers({ accept: "text/event-stream" });
        const resumeFrom = handle.cursor.lastEventId;
        if (resumeFrom) headers["last-event-id"] = resumeFrom;
        const res = await ctx.http.fetch(url.href, { headers, signal: conn.signal });
        if (res.status === 204) return; // the run is over and nothing is left to send
        if (!res.ok) {
          const error = await BondError.fromResponse(res);
          if (!isTransientStatus(res.status)) throw error;
          lastError = error;
        } else if (!res.body || !(res.headers.get("content-type") ?? "").includes("text/event-stream")) {
          throw new BondError(`${url.pathname} did not answer with an event stream`, { status: res.status, code: "protocol" });
        } else {
          const parser = new SseParser();
          const reader = res.body.getReader();
          try {
            for (;;) {
              watchdog.kick();
              const { done, value } = await reader.read();
              const messages = done ? parser.end() : parser.push(value);
              for (const message of messages) {
                const decoded = decodeSseMessage(message);
                if (!decoded || handle.cursor.accept(decoded.id) === "seen") continue;
                attempt = 0; // progress: the next drop starts its backoff afresh
                if (!decoded.event) continue;
                signal?.throwIfAborted();
                yield { ...decoded.event, eventId: decoded.id };
                if (isTerminal(decoded.event)) return;
              }
              if (done) break;
            }
          } finally {
            serverRetryMs = parser.retry ?? serverRetryMs;
            reader.cancel().catch(() => undefined);
          }
          lastError = new BondError("the stream ended before the run did", { code: "connection_lost" });
        }
      } catch (error) {
        if (signal?.aborted || (error instanceof BondError && error.code !== "connection_lost")) throw error;
        lastError = conn.signal.aborted && conn.signal.reason instanceof BondError ? conn.signal.reason : error;
      } finally {
        watchdog.stop();
        unlink();
        conn.abort();
      }

      attempt++;
      if (attempt > ctx.policy.maxAttempts) {
        throw new BondError(`connection lost; gave up after ${ctx.policy.maxAttempts} reconnect attempts: ${describe(lastError)}`, {
          code: "connection_lost",
          cause: lastError,
        });
      }
      await sleep(backoffDelay(attempt, ctx.policy.baseDelayMs ?? serverRetryMs ?? DEFAULT_BASE_DELAY_MS, ctx.policy.maxDelayMs), signal);
    }
  } catch (error) {
    if (signal?.aborted) {
      cancelOnServer();
      if (cancelled) await settleWithin(cancelled, CANCEL_SETTLE_MS);
      throw signal.reason;
    }
    throw error;
  } finally {
    signal?.removeEventListener("abort", cancelOnServer);
  }
}

/** Abort `to` when `from` aborts; returns the unlink function. */
function link(from: AbortSignal | undefined, to: AbortController): () => void {
  if (!from) return () => undefined;
  if (from.aborted) {
    to.abort(from.reason);
    return () => undefined;
  }
  const onAbort = (): void => to.abort(from.reason);
  from.addEventListener("abort", onAbort, { once: true });
  return () => from.removeEventListener("abort", onAbort);
}

/** `promise`, or the signal's reason as soon as it aborts (the promise itself keeps going). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
