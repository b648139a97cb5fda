/**
 * A run over `WS /ws`: send the prompt, read events; when the socket drops before the terminal
 * event, open a new one and send `{"type":"resume","session_id","last_event_id"}`.
 */
import { backoffDelay, sleep } from "./backoff.ts";
import { decodeWsFrame, isTerminal } from "./decode.ts";
import { BondError, type BondErrorCode } from "./errors.ts";
import { describe } from "./http.ts";
import { CANCEL_SETTLE_MS, type RunHandle, type RunStart, type TransportContext, settleWithin } from "./run-handle.ts";
import type { BondEvent, WebSocketConstructor } from "./types.ts";
import { type SocketInit, WsSocket } from "./ws-socket.ts";

const DEFAULT_BASE_DELAY_MS = 500;
const REFUSAL_CODES: ReadonlySet<string> = new Set(["bad_request", "busy", "not_found", "nothing_to_cancel", "rate_limited", "unavailable"]);

export async function* wsEvents(
  ctx: TransportContext,
  handle: RunHandle,
  start: RunStart,
  signal: AbortSignal | undefined,
): AsyncGenerator<BondEvent, void, undefined> {
  signal?.throwIfAborted();
  const Ctor = ctx.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Ctor) {
    throw new BondError("this runtime has no WebSocket: pass one as the `WebSocket` option (e.g. from the ws package)", { code: "protocol" });
  }
  const { url, init } = socketTarget(ctx);
  if (start.kind === "resume") handle.setSession(start.sessionId);

  let socket: WsSocket | null = null;
  // On abort: cancel through the open socket (the server answers with the run's end), else over HTTP.
  let cancelVia: "ws" | Promise<unknown> | null = null;
  let releaseTimer: ReturnType<typeof setTimeout> | undefined;
  const cancelOnServer = (): void => {
    if (cancelVia) return;
    const open = socket;
    if (open?.send({ type: "cancel" })) {
      cancelVia = "ws";
      // If the caller never pulls again, still let go of the socket.
      releaseTimer = setTimeout(() => open.close(1000, "cancelled"), CANCEL_SETTLE_MS);
    } else if (handle.sessionId) {
      cancelVia = ctx.http.request("POST", ctx.http.route("sessions", handle.sessionId, "cancel"));
      cancelVia.catch(() => undefined);
    }
  };
  signal?.addEventListener("abort", cancelOnServer, { once: true });

  let promptSent = false;
  let attempt = 0;
  try {
    for (;;) {
      if (promptSent && !handle.sessionId) {
        throw new BondError("the connection dropped before the server named the session; the run cannot be resumed", {
          code: "connection_lost",
        });
      }
      let lastError: unknown;
      try {
        socket = await WsSocket.open(Ctor, url, init, signal);
        if (start.kind === "ask" && !promptSent) {
          const frame: Record<string, unknown> = { prompt: start.prompt };
          if (start.sessionId !== undefined) frame.session_id = start.sessionId;
          else frame.new_session = true;
          promptSent = socket.send(frame);
        } else if (handle.sessionId) {
          const frame: Record<string, unknown> = { type: "resume", session_id: handle.sessionId };
          if (handle.cursor.lastEventId) frame.last_event_id = handle.cursor.lastEventId;
          socket.send(frame);
        }
        const pingEvery = ctx.idleTimeoutMs > 0 ? ctx.idleTimeoutMs / 2 : 0;
        let pinged = false;
        for (;;) {
          const item = await socket.next(signal, pingEvery);
          if (item.kind === "interrupted") {
            signal?.throwIfAborted();
            // Silent for half the idle timeout: ask for a pong; silent for all of it: treat as dropped.
            if (pinged) throw new BondError("the WebSocket went silent", { code: "connection_lost" });
            pinged = socket.send({ type: "ping" });
            continue;
          }
          pinged = false;
          if (item.kind === "closed") {
            throw new BondError(`the WebSocket closed before the run ended (${item.code}${item.reason ? ` ${item.reason}` : ""})`, {
              code: "connection_lost",
            });
          }
          const frame = decodeWsFrame(item.text);
          if (frame.kind === "session") handle.setSession(frame.sessionId);
          else if (frame.kind === "done") return; // resume found nothing left: the run is over
          else if (frame.kind === "refusal") {
            const code = (REFUSAL_CODES.has(frame.code) ? frame.code : "bad_request") as BondErrorCode;
            throw new BondError(frame.error, { code });
          } else if (frame.kind === "event") {
            if (handle.cursor.accept(frame.id) === "seen") continue;
            attempt = 0;
            if (!frame.event) continue;
            signal?.throwIfAborted();
            yield { ...frame.event, eventId: frame.id };
            if (isTerminal(frame.event)) return;
          }
        }
      } catch (error) {
        if (signal?.aborted || (error instanceof BondError && error.code !== "connection_lost")) {
          throw error;
        }
        lastError = error;
      } finally {
        if (!signal?.aborted) socket?.close(1000, "");
      }

      attempt++;
      if (attempt > ctx.policy.maxAttempts) {
        throw new BondError(`connection lost; gave up after ${ctx.policy.maxAttempts} reconnect attempts: ${describe(lastError)}`, {
          code: "connection_lost",
          cause: lastError,
        });
      }
      await sleep(backoffDelay(attempt, ctx.policy.baseDelayMs ?? DEFAULT_BASE_DELAY_MS, ctx.policy.maxDelayMs), signal);
    }
  } catch (error) {
    if (signal?.aborted) {
      cancelOnServer();
      if (cancelVia === "ws" && socket) await drainUntilEnd(socket);
      else if (cancelVia) await settleWithin(cancelVia, CANCEL_SETTLE_MS);
      socket?.close(1000, "cancelled");
      throw signal.reason;
    }
    throw error;
  } finally {
    signal?.removeEventListener("abort", cancelOnServer);
    if (releaseTimer !== undefined) clearTimeout(releaseTimer);
    socket?.close(1000, "");
  }
}

/** After a cancel frame: wait (bounded) until the server ends the run, so a later GET /sessions sees it. */
async function drainUntilEnd(socket: WsSocket): Promise<void> {
  const deadline = Date.now() + CANCEL_SETTLE_MS;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return;
    const item = await socket.next(undefined, left);
    if (item.kind !== "frame") return;
    try {
      const frame = decodeWsFrame(item.text);
      if (frame.kind === "done" || frame.kind === "refusal" || (frame.kind === "event" && frame.event && isTerminal(frame.event))) return;
    } catch {
      return;
    }
  }
}

function socketTarget(ctx: TransportContext): { url: string; init: SocketInit } {
  const url = ctx.http.route("ws");
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const key = ctx.http.apiKey;
  if (!key || ctx.wsAuth === "none") return { url: url.href, init: {} };
  if (ctx.wsAuth === "header") return { url: url.href, init: { headers: ctx.http.headers() } };
  return { url: url.href, init: { protocols: ["bearer", key] } };
}
