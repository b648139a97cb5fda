import { Elysia, t } from "elysia";
import { SESSION_ID_PATTERN, type Session } from "../../sessions/session.ts";
import { callerId } from "../caller.ts";
import { jsonError, jsonResponse } from "../http-error.ts";
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

/** The live session a prompt names (null: none named, or unknown — one will be created). */
export function findSessionForPrompt(runtime: BondRuntime, id: string | null | undefined): SessionLookup {
  if (id === undefined || id === null) return { ok: true, session: null };
  if (!SESSION_ID_PATTERN.test(id)) return { ok: false, reason: "bad-id" };
  return { ok: true, session: runtime.sessions.get(id) ?? null };
}

export const BAD_SESSION_ID = "session_id must match ^[A-Za-z0-9._:-]{1,128}$";

export function askRoutes(runtime: BondRuntime) {
  const authOn = runtime.config.api_keys.length > 0;
  return new Elysia({ name: "bond-ask" }).post(
    "/ask",
    ({ body, request, server }) => {
      if (runtime.shuttingDown) {
        return jsonError(503, "The server is shutting down.", { "retry-after": runtime.retryAfterSeconds });
      }
      const prompt = checkPrompt(body.prompt, runtime.config.max_prompt_chars);
      if (!prompt.ok) return jsonError(400, prompt.message);
      const lookup = findSessionForPrompt(runtime, body.session_id);
      if (!lookup.ok) return jsonError(400, BAD_SESSION_ID);
      if (lookup.session?.isRunning) return jsonError(409, "A run is already in progress in this session.");
      if (runtime.rateLimiter) {
        const wait = runtime.rateLimiter.take(callerId(request, server?.requestIP(request)?.address, authOn));
        if (wait > 0) return jsonError(429, "Rate limit exceeded: too many runs started.", { "retry-after": String(wait) });
      }
      const session = lookup.session ?? runtime.sessions.create(body.session_id ?? undefined);
      if (!session) {
        return jsonError(503, "The server has reached its limit of concurrent sessions.", { "retry-after": runtime.retryAfterSeconds });
      }
      runtime.http.tagSession(request, session.id);
      runtime.sessions.start(session, prompt.prompt);
      return jsonResponse(200, { session_id: session.id, stream_url: `/stream/${encodeURIComponent(session.id)}` });
    },
    { body: AskBody, detail: ROUTE_DOCS.ask },
  );
}
