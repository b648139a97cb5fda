import type { Elysia } from "elysia";
import type { ServerWebSocket } from "bun";
import { RunStop } from "../../agent/abort.ts";
import { SESSION_ID_PATTERN } from "../../sessions/session.ts";
import { offersBearer, type Principal } from "../access.ts";
import { jsonError } from "../http-error.ts";
import { handshakeError } from "../ws-handshake.ts";
import { parseClientFrame, wsError, type ClientFrame } from "../ws-frames.ts";
import { WsSubscription } from "../ws-subscription.ts";
import { jsonString } from "../encode.ts";
import { resumePoint } from "../resume.ts";
import type { BondRuntime } from "../runtime.ts";
import type { HeartbeatMember } from "../heartbeat.ts";
import { BAD_SESSION_ID, checkPrompt, CONCURRENT_RUNS_LIMIT, findSessionForPrompt } from "./ask.ts";
import { SESSION_NOT_FOUND } from "./stream.ts";
import type { Run } from "../../sessions/run.ts";

const PONG = '{"t":"pong"}';

/** What one socket remembers between frames; the shared heartbeat pings it through `beat`. */
interface SocketState extends HeartbeatMember {
  who: Principal;
  lastSessionId: string | null;
  sub: WsSubscription | null;
  closeSocket: (code: number, reason: string) => void;
}

type Raw = ServerWebSocket<unknown>;

export function wsRoutes(runtime: BondRuntime) {
  const states = new WeakMap<object, SocketState>();
  const graceMs = runtime.config.slow_client_grace_seconds * 1000;

  const follow = (raw: Raw, state: SocketState, sessionId: string, run: Run, cursor: number): void => {
    state.sub?.stop();
    state.lastSessionId = sessionId;
    raw.send(`{"t":"session","session_id":${jsonString(sessionId)}}`);
    const sub = new WsSubscription(
      raw,
      run,
      cursor,
      (ended) => {
        if (state.sub === ended) state.sub = null;
        runtime.wsSubscribers--;
        runtime.metrics.eventsSent.inc(ended.sent, ["ws"]); // once per subscriber, never per event
      },
      graceMs,
    );
    runtime.wsSubscribers++;
    state.sub = sub;
    sub.flush();
  };

  const onPrompt = (raw: Raw, state: SocketState, frame: ClientFrame): string | null => {
    if (runtime.shuttingDown) return wsError("unavailable", "The server is shutting down.");
    const text = frame.prompt ?? frame.message;
    if (text === undefined) return wsError("bad_request", 'A message needs a "prompt" string.');
    const prompt = checkPrompt(text, runtime.config.max_prompt_chars);
    if (!prompt.ok) return wsError("bad_request", prompt.message);
    const { who } = state;
    let requested = frame.session_id ?? (frame.new_session ? null : state.lastSessionId);
    if (who.scope !== null) {
      // A socket opened with a stream token reaches that one session only.
      if (frame.new_session) return wsError("bad_request", "This socket's token covers one session: it cannot start another.");
      requested ??= who.scope;
      if (requested !== who.scope) return wsError("not_found", SESSION_NOT_FOUND);
    }
    const lookup = findSessionForPrompt(runtime, requested, who.owner);
    if (!lookup.ok) return wsError("bad_request", BAD_SESSION_ID);
    if (lookup.session?.isRunning) return wsError("busy", "A run is already in progress in this session.");
    if (!runtime.runQuota.available(who)) {
      return wsError("rate_limited", CONCURRENT_RUNS_LIMIT(runtime.config.max_concurrent_runs_per_caller));
    }
    if (runtime.rateLimiter) {
      const wait = runtime.rateLimiter.take(who.caller);
      if (wait > 0) return wsError("rate_limited", `Rate limit exceeded: retry in ${wait} s.`);
    }
    const session = lookup.session ?? runtime.sessions.create((frame.session_id ?? who.scope) ?? undefined, who.owner);
    if (!session) return wsError("unavailable", "The server has reached its limit of concurrent sessions.");
    const started = runtime.sessions.start(session, prompt.prompt);
    if (!started.ok) return wsError("busy", "A run is already in progress in this session.");
    runtime.runQuota.hold(who, started.run);
    follow(raw, state, session.id, started.run, 0);
    return null;
  };

  const onResume = (raw: Raw, state: SocketState, frame: ClientFrame): string | null => {
    const id = frame.session_id;
    if (typeof id !== "string" || !SESSION_ID_PATTERN.test(id)) return wsError("bad_request", 'resume needs a valid "session_id".');
    const { who } = state;
    // Another key's session is "not found", exactly like an unknown one.
    const session = who.scope === null || who.scope === id ? runtime.sessions.get(id, who.owner) : undefined;
    if (!session) return wsError("not_found", SESSION_NOT_FOUND);
    session.touch();
    const point = resumePoint(session, frame.last_event_id ?? null);
    if (point.kind === "invalid") return wsError("bad_request", point.message);
    if (point.kind === "nothing-left") {
      state.lastSessionId = id;
      return '{"t":"done"}';
    }
    follow(raw, state, id, point.run, point.cursor);
    return null;
  };

  const onCancel = (state: SocketState): string | null => {
    const id = state.lastSessionId;
    const run = state.sub?.run ?? (id ? runtime.sessions.get(id, state.who.owner)?.latestRun : undefined);
    if (!run?.cancel(new RunStop("cancelled by client"))) return wsError("nothing_to_cancel", "No run is in progress.");
    return null;
  };

  return (app: Elysia) => app.ws("/ws", {
    // Runs twice per upgrade (TRAPS #8): only checks that spend nothing belong here.
    beforeHandle({ request }) {
      const malformed = handshakeError(request);
      if (malformed) return malformed;
      // Cross-site WebSocket hijacking: a browser page from another origin must not ride on the user's access.
      if (!runtime.access.originAllowed(request)) return jsonError(403, "Origin not allowed.");
    },
    // Bun would echo the first offered subprotocol, which could be the key itself (TRAPS #9): choose it.
    upgrade({ request, set }) {
      if (offersBearer(request)) set.headers["sec-websocket-protocol"] = "bearer";
    },
    open(ws) {
      const raw = ws.raw as Raw;
      const address = raw.remoteAddress;
      const who = runtime.access.identify(ws.data.request, () => address);
      if (!who) {
        raw.close(1008, "unauthorized"); // the upgrade gate lets none through: defence in depth
        return;
      }
      const state: SocketState = {
        who,
        lastSessionId: null,
        sub: null,
        beat: () => raw.ping(),
        closeSocket: (code, reason) => raw.close(code, reason),
      };
      runtime.heartbeat.add(state);
      states.set(raw, state);
      runtime.sockets.add(state.closeSocket);
    },
    message(ws, message) {
      const raw = ws.raw as Raw;
      const state = states.get(raw);
      if (!state) return;
      const parsed = parseClientFrame(message);
      let reply: string | null;
      if (!parsed.ok) reply = wsError("bad_request", parsed.error);
      else {
        const frame = parsed.frame;
        switch (frame.type) {
          case undefined:
          case "message":
          case "prompt":
            reply = onPrompt(raw, state, frame);
            break;
          case "cancel":
            reply = onCancel(state);
            break;
          case "ping":
            reply = PONG;
            break;
          case "resume":
            reply = onResume(raw, state, frame);
            break;
          default:
            reply = wsError("bad_request", `Unknown frame type "${frame.type}".`);
        }
      }
      if (reply) raw.send(reply);
    },
    drain(ws) {
      states.get(ws.raw)?.sub?.flush();
    },
    close(ws) {
      const state = states.get(ws.raw);
      if (!state) return;
      runtime.heartbeat.remove(state);
      state.sub?.stop();
      runtime.sockets.delete(state.closeSocket);
      states.delete(ws.raw);
    },
  });
}
