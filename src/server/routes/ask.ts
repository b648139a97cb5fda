import { type Elysia, t } from "elysia";
import { SESSION_ID_PATTERN, type Session } from "../../sessions/session.ts";
import type { Principal } from "../access.ts";
import { JSON_CONTENT_TYPE, jsonError, unauthorized } from "../http-error.ts";
import type { BondRuntime } from "../runtime.ts";
import { ROUTE_DOCS } from "../route-docs.ts";

export const AskBody = t.Object(
  {
    prompt: t.String({ description: "The user's message." }),
    session_id: t.Optional(t.Union([t.String(), t.Null()], { description: "Continue (or create) this session." })),
  },
  { additionalProperties: true },
);

export type PromptCheck = { ok: true; prompt: string } | { ok: false; message: string };

/** Shared by HTTP and WS: an empty or over-long prompt is refused before any run starts. */
export function checkPrompt(prompt: string, maxChars: number): PromptCheck {
  if (prompt.trim() === "") return { ok: false, message: "prompt must not be empty" };
  if (prompt.length > maxChars) return { ok: false, message: `prompt is longer than the limit of ${maxChars} characters` };
  return { ok: true, prompt };
}

export type SessionLookup = { ok: true; session: Session | null } | { ok: false; reason: "bad-id" };

/** The caller's live session a prompt names (null: none named, or unknown to this caller — one will be created). */
export function findSessionForPrompt(runtime: BondRuntime, id: string | null | undefined, owner: string | null): SessionLookup {
  if (id === undefined || id === null) return { ok: true, session: null };
  if (!SESSION_ID_PATTERN.test(id)) return { ok: false, reason: "bad-id" };
  return { ok: true, session: runtime.sessions.get(id, owner) ?? null };
}

/** What /ask hands back: with auth on, the stream URL carries a token for browsers' EventSource, which cannot send headers. */
export function streamUrl(runtime: BondRuntime, sessionId: string, owner: string | null): string {
  const path = `/stream/${encodeURIComponent(sessionId)}`;
  return owner === null ? path : `${path}?token=${runtime.access.streamToken(sessionId, owner)}`;
}

export const CONCURRENT_RUNS_LIMIT = (max: number) => `Too many runs in progress: at most ${max} at once per caller.`;

export const BAD_SESSION_ID = "session_id must match ^[A-Za-z0-9._:-]{1,128}$";

export function askRoutes(runtime: BondRuntime) {
  return (app: Elysia) => app.post(
    "/ask",
    ({ body, request, set }) => {
      const who: Principal | null = runtime.access.identify(request, runtime.peerAddress);
      if (!who || who.scope !== null) return unauthorized(); // a stream token is no key
      if (runtime.shuttingDown) {
        return jsonError(503, "The server is shutting down.", { "retry-after": runtime.retryAfterSeconds });
      }
      const prompt = checkPrompt(body.prompt, runtime.config.max_prompt_chars);
      if (!prompt.ok) return jsonError(400, prompt.message);
      const lookup = findSessionForPrompt(runtime, body.session_id, who.owner);
      if (!lookup.ok) return jsonError(400, BAD_SESSION_ID);
      if (lookup.session?.isRunning) return jsonError(409, "A run is already in progress in this session.");
      // The concurrency check spends nothing, so it goes before the rate limit, which spends a token.
      if (!runtime.runQuota.available(who)) {
        return jsonError(429, CONCURRENT_RUNS_LIMIT(runtime.config.max_concurrent_runs_per_caller), { "retry-after": "1" });
      }
      if (runtime.rateLimiter) {
        const wait = runtime.rateLimiter.take(who.caller);
        if (wait > 0) return jsonError(429, "Rate limit exceeded: too many runs started.", { "retry-after": String(wait) });
      }
      const session = lookup.session ?? runtime.sessions.create(body.session_id ?? undefined, who.owner);
      if (!session) {
        return jsonError(503, "The server has reached its limit of concurrent sessions.", { "retry-after": runtime.retryAfterSeconds });
      }
      runtime.http.tagSession(request, session.id);
      const started = runtime.sessions.start(session, prompt.prompt);
      if (!started.ok) return jsonError(409, "A run is already in progress in this session.");
      runtime.runQuota.hold(who, started.run);
      // A plain object: Elysia makes the Response once with the hooks' headers (returning a Response of
      // our own makes it copy that Response to add them).
      set.headers["content-type"] = JSON_CONTENT_TYPE;
      return { session_id: session.id, stream_url: streamUrl(runtime, session.id, who.owner) };
    },
    { body: AskBody, detail: ROUTE_DOCS.ask },
  );
}
