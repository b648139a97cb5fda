/** Public types of the client. AgentEvent is imported as a type only: the server's union is the one source. */
import type { AgentEvent, UsageTotals } from "../agent/events.ts";

export type { AgentEvent, AgentEventType, BlockKind, TerminalEvent, UsageTotals } from "../agent/events.ts";

/**
 * What `ask()` / `resume()` yield: the server's AgentEvent plus its event id ("<run>:<seq>").
 * The id is `eventId`, not `id`, because `tool_exec` / `tool_result` already carry a tool-call `id`.
 * A BondEvent is still an AgentEvent: narrow it with `ev.type`, pass it to `RunAccumulator.push`.
 */
export type BondEvent = AgentEvent & { readonly eventId: string };

export type UsageEvent = Extract<AgentEvent, { type: "usage" }>;

export type Transport = "sse" | "ws";

/** The structural `fetch` the client needs (the platform's, or a wrapper of it). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The part of the WHATWG WebSocket the client uses (browsers, Bun, Node 22+, or the `ws` package). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: WebSocketEventLike) => void): void;
}

export interface WebSocketEventLike {
  data?: unknown;
  code?: number;
  reason?: string;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * How the API key reaches `WS /ws`, since browsers cannot set headers on a WebSocket:
 * - "subprotocol" (default): `Sec-WebSocket-Protocol: bearer, <key>` — the key must be a valid
 *   header token (letters, digits, `-._~!#$&'*+^`|` etc.; no spaces, `/`, `=` or `,`);
 * - "header": `Authorization: Bearer <key>` on the upgrade request — NOT in browsers; for runtimes
 *   whose WebSocket takes `new WebSocket(url, { headers, protocols })`: Bun (tested), Deno, the `ws` package;
 * - "none": send no key (e.g. a cookie or a proxy authenticates).
 * A raw key is never put in the URL: URLs end up in access logs, and the server refuses it there.
 */
export type WebSocketAuth = "subprotocol" | "header" | "none";

export interface ReconnectOptions {
  /** Reconnect attempts after a drop before giving up; the count resets whenever an event arrives. Default 5. */
  maxAttempts?: number;
  /** First backoff step. Default: the server's SSE `retry:` hint, else 500 ms. */
  baseDelayMs?: number;
  /** Backoff ceiling. Default 10 000 ms. */
  maxDelayMs?: number;
}

export interface BondClientOptions {
  /** Where the server is, e.g. "http://127.0.0.1:8000" (a path prefix is kept). */
  baseUrl: string | URL;
  /** Sent as `Authorization: Bearer <key>` over HTTP; see `wsAuth` for WebSocket. */
  apiKey?: string;
  /** Default transport for `ask` / `resume`. Default "sse". */
  transport?: Transport;
  wsAuth?: WebSocketAuth;
  reconnect?: ReconnectOptions;
  /**
   * A connection that carries nothing (not even a heartbeat) for this long is treated as dropped
   * and resumed. Keep it above the server's `BOND_HEARTBEAT_SECONDS`. Default 45 000; 0 disables.
   */
  idleTimeoutMs?: number;
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** Defaults to the global `WebSocket` (Node 20 has none: pass the `ws` package's). */
  WebSocket?: WebSocketConstructor;
}

export interface StreamOptions {
  /** Aborting stops the local stream (the iterator throws the signal's reason) and cancels the run on the server. */
  signal?: AbortSignal;
  /** Overrides the client's default transport for this run. */
  transport?: Transport;
  /** Called once the server has named the session (before the first event). */
  onSession?: (sessionId: string) => void;
}

export interface AskOptions extends StreamOptions {
  /** Continue this conversation (or create a session with this id). Absent: a new session. */
  sessionId?: string;
}

export interface ResumeOptions extends StreamOptions {
  /** Resume after this event; absent: replay the session's latest run from its start. */
  lastEventId?: string;
  /** The `stream_url` the server returned for this run, if saved; else `/stream/<id>`. SSE only. */
  streamUrl?: string;
}

export type SessionStatus = "pending" | "streaming" | "completed" | "error" | "cancelled";

export interface HistoryEntry {
  role: "user" | "assistant" | "tool";
  content: string;
  [extra: string]: unknown;
}

/** `GET /sessions/{id}` (API.md §2); extra server fields pass through. */
export interface SessionInfo {
  session_id: string;
  status: SessionStatus;
  created_at: string;
  updated_at: string;
  expires_at: string;
  runs: number;
  history: HistoryEntry[];
  usage: UsageTotals;
  [extra: string]: unknown;
}

/** `GET /health`. */
export interface HealthInfo {
  status: string;
  agent_name: string;
  [extra: string]: unknown;
}

/** `POST /ask`'s answer. */
export interface AskResponse {
  session_id: string;
  stream_url: string;
}
