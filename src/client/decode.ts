/**
 * Wire → AgentEvent. Both encodings (SSE `event:`+`data:` and the compact WS frames of API.md §3)
 * end up in `toAgentEvent`, so the two transports cannot disagree. Nothing from the network is
 * trusted: a known event with a wrong shape is a protocol error; an unknown event name is skipped
 * (a newer server may add events).
 */
import type { AgentEvent, BlockKind, TerminalEvent } from "../agent/events.ts";
import { BondError, isRecord } from "./errors.ts";
import type { SseMessage } from "./sse-parser.ts";

type Payload = Record<string, unknown>;

/** The run's last event. (Own copy: the client must not load server modules at runtime.) */
export function isTerminal(event: AgentEvent): event is TerminalEvent {
  return event.type === "complete" || event.type === "error" || event.type === "cancelled";
}

function protocolError(type: string, field: string): BondError {
  return new BondError(`malformed "${type}" event: bad "${field}"`, { code: "protocol" });
}

function str(p: Payload, type: string, field: string): string {
  const v = p[field];
  if (typeof v !== "string") throw protocolError(type, field);
  return v;
}

function num(p: Payload, type: string, field: string): number {
  const v = p[field];
  if (typeof v !== "number" || !Number.isFinite(v)) throw protocolError(type, field);
  return v;
}

function kind(p: Payload, type: string): BlockKind {
  const v = p.kind;
  if (v !== "text" && v !== "thinking" && v !== "tool-call") throw protocolError(type, "kind");
  return v;
}

/** Build the event named `type` from its payload (field names as in the SSE encoding). */
export function toAgentEvent(type: string, p: Payload): AgentEvent | null {
  switch (type) {
    case "block_start":
    case "block_end":
      return { type, kind: kind(p, type), idx: num(p, type, "idx") };
    case "text":
    case "thinking":
      return { type, content: str(p, type, "content") };
    case "tool_delta":
      // Fragments: either part may be absent while the model is still forming the call.
      return { type, name: typeof p.name === "string" ? p.name : "", args: typeof p.args === "string" ? p.args : "" };
    case "tool_exec":
      return { type, id: str(p, type, "id"), name: str(p, type, "name"), args: p.args ?? {} };
    case "tool_result": {
      const r = p.result;
      return {
        type,
        id: str(p, type, "id"),
        name: str(p, type, "name"),
        result: typeof r === "string" ? r : JSON.stringify(r ?? null),
        is_error: p.is_error === true,
      };
    }
    case "usage": {
      const cost = p.total_cost;
      if (cost !== null && cost !== undefined && typeof cost !== "number") throw protocolError(type, "total_cost");
      return {
        type,
        prompt_tokens: num(p, type, "prompt_tokens"),
        completion_tokens: num(p, type, "completion_tokens"),
        total_tokens: num(p, type, "total_tokens"),
        total_cost: cost ?? null,
        model: typeof p.model === "string" ? p.model : "",
      };
    }
    case "complete":
      return { type, data: typeof p.data === "string" ? p.data : JSON.stringify(p.data ?? null) };
    case "error":
      return { type, error: str(p, type, "error") };
    case "cancelled":
      return { type, reason: typeof p.reason === "string" ? p.reason : "" };
    default:
      return null;
  }
}

export interface DecodedEvent {
  id: string;
  /** null: an event this client does not know; its id still counts for resuming. */
  event: AgentEvent | null;
}

/** One SSE frame → event. Frames without an id are not run events and are skipped (null). */
export function decodeSseMessage(message: SseMessage): DecodedEvent | null {
  if (message.id === undefined || message.event === "message") return null;
  let payload: unknown;
  try {
    payload = JSON.parse(message.data);
  } catch (cause) {
    throw new BondError(`"${message.event}" event data is not JSON`, { code: "protocol", cause });
  }
  if (!isRecord(payload)) throw new BondError(`"${message.event}" event data is not an object`, { code: "protocol" });
  return { id: message.id, event: toAgentEvent(message.event, payload) };
}

/** A server → client WebSocket frame (API.md §3). */
export type WsFrame =
  | { kind: "event"; id: string; event: AgentEvent | null }
  | { kind: "session"; sessionId: string }
  | { kind: "done" }
  | { kind: "pong" }
  | { kind: "refusal"; error: string; code: string }
  | { kind: "other" };

// WS field names → SSE payload names; the rest are the same on both.
const WS_RENAMES: Readonly<Record<string, string>> = { c: "content", n: "name", a: "args" };

export function decodeWsFrame(text: string): WsFrame {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch (cause) {
    throw new BondError("WebSocket frame is not JSON", { code: "protocol", cause });
  }
  if (!isRecord(frame) || typeof frame.t !== "string") {
    throw new BondError('WebSocket frame has no "t"', { code: "protocol" });
  }
  const t = frame.t;
  if (typeof frame.i === "string") {
    const payload: Payload = {};
    for (const [key, value] of Object.entries(frame)) {
      if (key !== "t" && key !== "i") payload[WS_RENAMES[key] ?? key] = value;
    }
    return { kind: "event", id: frame.i, event: toAgentEvent(t, payload) };
  }
  switch (t) {
    case "session":
      if (typeof frame.session_id !== "string") throw new BondError('"session" frame without session_id', { code: "protocol" });
      return { kind: "session", sessionId: frame.session_id };
    case "done":
      return { kind: "done" };
    case "pong":
      return { kind: "pong" };
    case "error":
      return {
        kind: "refusal",
        error: typeof frame.error === "string" ? frame.error : "refused",
        code: typeof frame.code === "string" ? frame.code : "bad_request",
      };
    default:
      return { kind: "other" };
  }
}
