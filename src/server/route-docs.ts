/**
 * OpenAPI `detail` for each route: summaries and response schemas. Request
 * schemas come from the routes' own typebox schemas; responses are described
 * here (not as Elysia `response` schemas) so documenting them never changes
 * what a route sends.
 */
import { Type } from "@sinclair/typebox";
import { t, type DocumentDecoration, type TSchema } from "elysia";
import type { OpenAPIV3 } from "openapi-types";

// Plain typebox integers: Elysia's t.Integer compiles a validator per call (~5 ms of every start
// for these six) and documents a response integer as "integer or numeric string".
const ErrorBody = t.Object(
  { error: t.String({ description: "What went wrong; never a stack trace." }) },
  { additionalProperties: true, description: "The one error shape." },
);

const AskResponse = t.Object({
  session_id: t.String(),
  stream_url: t.String({ description: "Relative URL of the run's event stream." }),
});

const Usage = t.Object({
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
  total_cost: t.Union([t.Number(), t.Null()], { description: "USD; null when the model has no known price." }),
});

const SessionInfo = t.Object(
  {
    session_id: t.String(),
    status: t.Union([t.Literal("pending"), t.Literal("streaming"), t.Literal("completed"), t.Literal("error"), t.Literal("cancelled")]),
    created_at: t.String({ format: "date-time" }),
    updated_at: t.String({ format: "date-time" }),
    expires_at: t.Union([t.String({ format: "date-time" }), t.Null()], { description: "null while a run is in progress." }),
    runs: Type.Integer({ description: "Runs started in this session." }),
    history: t.Array(
      t.Object(
        { role: t.Union([t.Literal("user"), t.Literal("assistant"), t.Literal("tool")]), content: t.String() },
        { additionalProperties: true },
      ),
    ),
    usage: Usage,
    last_event_id: t.Union([t.String(), t.Null()], { description: "Id of the latest run's last event." }),
  },
  { additionalProperties: true },
);

const CancelResponse = t.Object({ session_id: t.String(), status: t.Literal("cancelling") });

const Health = t.Object(
  {
    status: t.Union([t.Literal("healthy"), t.Literal("shutting_down")]),
    agent_name: t.String(),
    model: t.String(),
    version: t.String(),
    sessions: Type.Integer(),
    running_runs: Type.Integer(),
  },
  { additionalProperties: true },
);

/** TypeBox schemas are JSON Schema; only their TypeScript types differ from openapi-types'. */
function schema(s: TSchema): OpenAPIV3.SchemaObject {
  return s as unknown as OpenAPIV3.SchemaObject;
}

function json(description: string, body: TSchema): OpenAPIV3.ResponseObject {
  return { description, content: { "application/json": { schema: schema(body) } } };
}

const ERROR_TEXT: Record<number, string> = {
  400: "Invalid request.",
  401: "Missing or invalid API key (when BOND_API_KEYS is set).",
  404: "Session not found or expired.",
  409: "Conflict with the session's state.",
  413: "Request body over the limit.",
  429: "Rate limited; see Retry-After.",
  503: "Session limit reached or shutting down; see Retry-After.",
};

function errors(...codes: number[]): OpenAPIV3.ResponsesObject {
  return Object.fromEntries(codes.map((c) => [String(c), json(ERROR_TEXT[c] ?? "Error.", ErrorBody)]));
}

const sessionTag = ["sessions"];
const runTag = ["runs"];

export const ROUTE_DOCS = {
  ask: {
    summary: "Start a run",
    description:
      "Starts a run of the agent on the prompt in a new or existing session and returns at once; follow its events at `stream_url` (SSE) or over `/ws`.",
    tags: runTag,
    responses: {
      "200": json("The run started.", AskResponse),
      ...errors(400, 401, 409, 413, 429, 503),
    },
  },
  stream: {
    summary: "Stream the latest run's events (SSE)",
    description:
      "Server-Sent Events: replays the session's latest run from the start (or after `Last-Event-ID` / `last_event_id`), then follows it live and closes after the terminal event. Frames: `id: <run>:<seq>`, `event: <name>`, `data: <json>`; `: ping` comments as heartbeat.",
    tags: runTag,
    responses: {
      "200": { description: "The event stream.", content: { "text/event-stream": { schema: { type: "string" } } } },
      "204": { description: "The run has ended and nothing is left to send (tells EventSource to stop reconnecting)." },
      ...errors(400, 401, 404),
    },
  },
  getSession: {
    summary: "Describe a session",
    tags: sessionTag,
    responses: { "200": json("The session's state, history and totals.", SessionInfo), ...errors(401, 404) },
  },
  cancel: {
    summary: "Cancel the running run",
    tags: sessionTag,
    responses: { "202": json("Cancelling; the run ends with a `cancelled` event.", CancelResponse), ...errors(401, 404, 409) },
  },
  deleteSession: {
    summary: "Cancel any run and forget the session",
    tags: sessionTag,
    responses: { "204": { description: "Deleted." }, ...errors(401, 404) },
  },
  health: {
    summary: "Health check",
    description: "Never needs a key.",
    tags: ["operations"],
    security: [],
    responses: { "200": json("The server is up.", Health) },
  },
  metrics: {
    summary: "Prometheus metrics",
    description: "Prometheus text exposition format 0.0.4. Needs a key when BOND_API_KEYS is set.",
    tags: ["operations"],
    responses: {
      "200": { description: "The metrics.", content: { "text/plain; version=0.0.4": { schema: { type: "string" } } } },
      ...errors(401),
    },
  },
} satisfies Record<string, DocumentDecoration>;
