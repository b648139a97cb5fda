/**
 * What survives a page reload, in sessionStorage (this tab only): the session id, each turn's
 * events so far, and the id of the last event applied — saved together, so after a reload the
 * stream resumes exactly after the events already shown (no gap, no duplicate).
 */
import type { AgentEvent, Transport } from "../../client/index.ts";

export interface SavedTurn {
  prompt: string;
  /** The run's events so far, adjacent deltas merged (replaying them rebuilds the turn). */
  events: AgentEvent[];
  /** The id of the last event in `events`; resume after it. */
  lastEventId: string | null;
  /** The run's `stream_url` (SSE resume). */
  streamUrl: string | null;
  /** What went wrong on this side (refused, connection lost, stopped before the server answered). */
  failure: string | null;
  /** Stopped with the Stop button (the server's own `cancelled` event may not have been read). */
  stopped: boolean;
}

export interface SavedChat {
  sessionId: string | null;
  turns: SavedTurn[];
}

const CHAT_KEY = "bond.playground.chat.v1";
const TRANSPORT_KEY = "bond.playground.transport";
const API_KEY_KEY = "bond.playground.apiKey";

function read(key: string): string | null {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null; // storage disabled: the page still works, it just forgets on reload
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    // Full or disabled: losing the reload state is better than breaking the chat.
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";

function isSavedTurn(v: unknown): v is SavedTurn {
  return (
    isObject(v) &&
    typeof v.prompt === "string" &&
    Array.isArray(v.events) &&
    v.events.every((e) => isObject(e) && typeof e.type === "string") &&
    isStringOrNull(v.lastEventId) &&
    isStringOrNull(v.streamUrl) &&
    isStringOrNull(v.failure) &&
    typeof v.stopped === "boolean"
  );
}

/** The saved conversation, or an empty one if nothing (valid) is saved. */
export function loadChat(): SavedChat {
  const raw = read(CHAT_KEY);
  if (raw === null) return { sessionId: null, turns: [] };
  try {
    const v: unknown = JSON.parse(raw);
    if (isObject(v) && isStringOrNull(v.sessionId) && Array.isArray(v.turns) && v.turns.every(isSavedTurn)) {
      return { sessionId: v.sessionId, turns: v.turns };
    }
  } catch {
    // fall through: a corrupt entry is dropped
  }
  write(CHAT_KEY, null);
  return { sessionId: null, turns: [] };
}

export function saveChat(chat: SavedChat): void {
  write(CHAT_KEY, chat.sessionId === null && chat.turns.length === 0 ? null : JSON.stringify(chat));
}

export function loadTransport(): Transport {
  return read(TRANSPORT_KEY) === "ws" ? "ws" : "sse";
}

export function saveTransport(transport: Transport): void {
  write(TRANSPORT_KEY, transport);
}

/** Kept for this tab only (sessionStorage), so a reload can resume without asking again. */
export function loadApiKey(): string {
  return read(API_KEY_KEY) ?? "";
}

export function saveApiKey(key: string): void {
  write(API_KEY_KEY, key === "" ? null : key);
}

/**
 * Appends an event, merging it into the previous one when they are deltas of the same kind:
 * replaying the merged list gives the same state, and storage stays small however long the answer.
 */
export function appendEvent(events: AgentEvent[], event: AgentEvent): void {
  const last = events[events.length - 1];
  if (last?.type === "text" && event.type === "text") events[events.length - 1] = { type: "text", content: last.content + event.content };
  else if (last?.type === "thinking" && event.type === "thinking") {
    events[events.length - 1] = { type: "thinking", content: last.content + event.content };
  } else if (last?.type === "tool_delta" && event.type === "tool_delta") {
    events[events.length - 1] = { type: "tool_delta", name: last.name + event.name, args: last.args + event.args };
  } else events.push(toAgentEvent(event));
}

/** A plain copy without the client's `eventId` (the turn keeps only the last one). */
function toAgentEvent(event: AgentEvent): AgentEvent {
  const copy: Record<string, unknown> = { ...event };
  delete copy.eventId;
  return copy as AgentEvent;
}
