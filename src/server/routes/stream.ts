import type { Elysia } from "elysia";
import { SESSION_ID_PATTERN } from "../../sessions/session.ts";
import { jsonError, unauthorized } from "../http-error.ts";
import { resumePoint } from "../resume.ts";
import type { BondRuntime } from "../runtime.ts";
import { ROUTE_DOCS } from "../route-docs.ts";
import { sseResponse } from "../sse.ts";

export const SESSION_NOT_FOUND = "Session not found or expired";

export function streamRoutes(runtime: BondRuntime) {
  return (app: Elysia) => app.get("/stream/:session_id", ({ params, request, query, set }) => {
    const who = runtime.access.identify(request, runtime.peerAddress);
    if (!who) return unauthorized();
    const id = params.session_id;
    // Another key's session, or one a token does not cover, is "not found": never reveal that it exists.
    const visible = SESSION_ID_PATTERN.test(id) && (who.scope === null || who.scope === id);
    const session = visible ? runtime.sessions.get(id, who.owner) : undefined;
    if (!session) return jsonError(404, SESSION_NOT_FOUND);
    session.touch();
    const lastEventId = request.headers.get("last-event-id") ?? (typeof query.last_event_id === "string" ? query.last_event_id : null);
    const point = resumePoint(session, lastEventId);
    if (point.kind === "invalid") return jsonError(400, point.message);
    // 204 tells a browser EventSource to stop reconnecting: the run is over and nothing is left.
    if (point.kind === "nothing-left") return new Response(null, { status: 204 });
    // A stream may stay silent for minutes (a slow tool): never let the idle timeout cut it (TRAPS #1).
    runtime.server?.timeout(request, 0);
    return sseResponse(runtime, point.run, point.cursor, set);
  }, { detail: ROUTE_DOCS.stream });
}
