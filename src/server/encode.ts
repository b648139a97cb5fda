import type { AgentEvent } from "../agent/events.ts";
import type { RunLog, SseChunk } from "../sessions/run-log.ts";

const utf8 = new TextEncoder();
const q = JSON.stringify;

/**
 * A string as a JSON string literal. Most deltas need no escaping at all: checked with a
 * char loop (~3x faster than JSON.stringify on short strings); anything that needs escaping
 * (quote, backslash, control characters, any surrogate) goes through JSON.stringify.
 */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/** The SSE `data` of a text or thinking delta. */
function sseDeltaPayload(content: string): string {
  return `{"content":${jsonString(content)}}`;
}

/** The WebSocket frame of a text or thinking delta. */
function wsDeltaFrame(type: "text" | "thinking", content: string, id: string): string {
  return `{"t":"${type}","c":${jsonString(content)},"i":"${id}"}`;
}

/** The SSE `data` payload (API.md §1): the event without its `type`, as one line of JSON. */
export function ssePayload(e: AgentEvent): string {
  switch (e.type) {
    case "text":
    case "thinking":
      return sseDeltaPayload(e.content);
    case "block_start":
    case "block_end":
      return `{"kind":"${e.kind}","idx":${e.idx}}`;
    case "tool_delta":
      return `{"name":${q(e.name)},"args":${q(e.args)}}`;
    case "tool_exec":
      return `{"id":${q(e.id)},"name":${q(e.name)},"args":${q(e.args) ?? "null"}}`;
    case "tool_result":
      return `{"id":${q(e.id)},"name":${q(e.name)},"result":${q(e.result)},"is_error":${e.is_error}}`;
    case "usage":
      return usageJson(e, "{", "}");
    case "complete":
      return `{"data":${q(e.data)}}`;
    case "error":
      return `{"error":${q(e.error)}}`;
    case "cancelled":
      return `{"reason":${q(e.reason)}}`;
  }
}

/** The WebSocket frame (API.md §3): `{"t": …, …, "i": "<id>"}`. */
export function wsFrame(e: AgentEvent, id: string): string {
  const i = `,"i":"${id}"}`;
  switch (e.type) {
    case "text":
    case "thinking":
      return wsDeltaFrame(e.type, e.content, id);
    case "block_start":
    case "block_end":
      return `{"t":"${e.type}","kind":"${e.kind}","idx":${e.idx}${i}`;
    case "tool_delta":
      return `{"t":"tool_delta","n":${q(e.name)},"a":${q(e.args)}${i}`;
    case "tool_exec":
      return `{"t":"tool_exec","id":${q(e.id)},"name":${q(e.name)},"args":${q(e.args) ?? "null"}${i}`;
    case "tool_result":
      return `{"t":"tool_result","id":${q(e.id)},"name":${q(e.name)},"result":${q(e.result)},"is_error":${e.is_error}${i}`;
    case "usage":
      return usageJson(e, `{"t":"usage",`, i);
    case "complete":
      return `{"t":"complete","data":${q(e.data)}${i}`;
    case "error":
      return `{"t":"error","error":${q(e.error)}${i}`;
    case "cancelled":
      return `{"t":"cancelled","reason":${q(e.reason)}${i}`;
  }
}

/** The usage fields between `open` (which opens the object) and `close` (which ends it). */
function usageJson(e: Extract<AgentEvent, { type: "usage" }>, open: string, close: string): string {
  const cost = e.total_cost === null || !Number.isFinite(e.total_cost) ? "null" : String(e.total_cost);
  return `${open}"prompt_tokens":${e.prompt_tokens},"completion_tokens":${e.completion_tokens},"total_tokens":${e.total_tokens},"total_cost":${cost},"model":${jsonString(e.model)}${close}`;
}

/** The SSE frame of the log's event `i` (a bare string in the log is a text delta). */
function sseFrame(log: RunLog, i: number): string {
  const e = log.entryAt(i);
  const delta = typeof e === "string";
  return `id: ${log.eventId(i)}\nevent: ${delta ? "text" : e.type}\ndata: ${delta ? sseDeltaPayload(e) : ssePayload(e)}\n\n`;
}

/**
 * The SSE text of the log's events from `from` on, about `budget` characters at most (at
 * least one event): one socket write for a batch. Text, not bytes: Bun writes a string chunk's
 * UTF-8 straight to the socket, and a Uint8Array per chunk was a buffer more per write for
 * the GC. Subscribers woken together ask for the same start, so the chunk made for the first
 * is shared by the others.
 */
export function sseChunkFrom(log: RunLog, from: number, budget: number): SseChunk {
  const shared = log.sseShared;
  if (shared !== null && shared.from === from) return shared;
  const end = log.length;
  let to = from;
  let text = "";
  while (to < end && text.length < budget) text += sseFrame(log, to++);
  const chunk: SseChunk = { from, to, text };
  log.sseShared = chunk;
  return chunk;
}

/** The WebSocket frame of the log's event `i`, made once and shared by every subscriber. */
export function wsFrameAt(log: RunLog, i: number): string {
  const frames = (log.wsFrames ??= []);
  return (frames[i] ??= wsFrameOf(log, i));
}

/** The WebSocket frame of the log's event `i`, made afresh (for a run with one subscriber). */
export function wsFrameOf(log: RunLog, i: number): string {
  const e = log.entryAt(i);
  return typeof e === "string" ? wsDeltaFrame("text", e, log.eventId(i)) : wsFrame(e, log.eventId(i));
}

export const SSE_RETRY = utf8.encode("retry: 1000\n\n");
export const SSE_PING = utf8.encode(": ping\n\n");
