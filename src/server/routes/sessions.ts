import type { Elysia } from "elysia";
import { RunStop } from "../../agent/abort.ts";
import { SESSION_ID_PATTERN, type Session } from "../../sessions/session.ts";
import { jsonError, jsonResponse, unauthorized } from "../http-error.ts";
import type { BondRuntime } from "../runtime.ts";
import { ROUTE_DOCS } from "../route-docs.ts";
import { SESSION_NOT_FOUND } from "./stream.ts";

/** GET /sessions/{id}: the session's state, history and totals (API.md §2). */
export function describeSession(session: Session, timeoutMs: number): Record<string, unknown> {
  const run = session.latestRun;
  return {
    session_id: session.id,
    status: session.status,
    created_at: new Date(session.createdAt).toISOString(),
    updated_at: new Date(session.updatedAt).toISOString(),
    // A session with a run in progress never expires; null says so.
    expires_at: session.isRunning ? null : new Date(session.expiresAt(timeoutMs)).toISOString(),
    runs: session.runCount,
    history: session.history,
    usage: session.usage,
    last_event_id: run?.log.lastEventId ?? null,
  };
}

export function sessionRoutes(runtime: BondRuntime) {
  const timeoutMs = runtime.config.session_timeout_seconds * 1000;
  /** The caller's session, or a response refusing it: another key's session is "not found", as an unknown one. */
  const find = (id: string, request: Request): Session | Response => {
    const who = runtime.access.identify(request, runtime.peerAddress);
    if (!who || who.scope !== null) return unauthorized(); // a stream token opens only the stream
    const session = SESSION_ID_PATTERN.test(id) ? runtime.sessions.get(id, who.owner) : undefined;
    return session ?? jsonError(404, SESSION_NOT_FOUND);
  };

  return (app: Elysia) => app
    .get("/sessions/:session_id", ({ params, request }) => {
      const session = find(params.session_id, request);
      if (session instanceof Response) return session;
      session.touch();
      return jsonResponse(200, describeSession(session, timeoutMs));
    }, { detail: ROUTE_DOCS.getSession })
    .post("/sessions/:session_id/cancel", ({ params, request }) => {
      const session = find(params.session_id, request);
      if (session instanceof Response) return session;
      session.touch();
      if (!runtime.sessions.cancel(session, new RunStop("cancelled by client"))) {
        return jsonError(409, "No run is in progress in this session.");
      }
      return jsonResponse(202, { session_id: session.id, status: "cancelling" });
    }, { detail: ROUTE_DOCS.cancel })
    .delete("/sessions/:session_id", ({ params, request }) => {
      const session = find(params.session_id, request);
      if (session instanceof Response) return session;
      runtime.sessions.delete(session.id, session.owner);
      return new Response(null, { status: 204 });
    }, { detail: ROUTE_DOCS.deleteSession });
}
