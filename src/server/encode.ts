import type { AgentEvent } from "../agent/events.ts";
import type { LoggedEvent } from "../sessions/run-log.ts";

const utf8 = new TextEncoder();
const q = JSON.stringify;

/** The SSE `data` payload (API.md §1): the event without its `type`, as one line of JSON. */
export function ssePayload(e: AgentEvent): string {
  switch (e.type) {
    case "text":
    case "thinking":
      return `{"content":${q(e.content)}}`;
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
      return usageJson(e, "");
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
      return `{"t":"text","c":${q(e.content)}${i}`;
    case "thinking":
      return `{"t":"thinking","c":${q(e.content)}${i}`;
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
      return usageJson(e, `"t":"usage",`).slice(0, -1) + i;
    case "complete":
      return `{"t":"complete","data":${q(e.data)}${i}`;
    case "error":
      return `{"t":"error","error":${q(e.error)}${i}`;
    case "cancelled":
      return `{"t":"cancelled","reason":${q(e.reason)}${i}`;
  }
}

function usageJson(e: Extract<AgentEvent, { type: "usage" }>, prefix: string): string {
  const cost = e.total_cost === null || !Number.isFinite(e.total_cost) ? "null" : String(e.total_cost);
  return `{${prefix}"prompt_tokens":${e.prompt_tokens},"completion_tokens":${e.completion_tokens},"total_tokens":${e.total_tokens},"total_cost":${cost},"model":${q(e.model)}}`;
}

/** The SSE frame of a logged event, made once and shared by every subscriber. */
export function sseText(logged: LoggedEvent): string {
  return (logged.sseText ??= `id: ${logged.id}\nevent: ${logged.event.type}\ndata: ${ssePayload(logged.event)}\n\n`);
}

/** SSE bytes of a logged event, encoded once and shared by every subscriber. */
export function sseBytes(logged: LoggedEvent): Uint8Array {
  return (logged.sse ??= utf8.encode(sseText(logged)));
}

/**
 * The frames of `events[from..to)` as one chunk: one encode and one socket write for a
 * batch (a lone event reuses its shared bytes, which fan-out to many subscribers needs).
 */
export function sseChunk(events: readonly LoggedEvent[], from: number, to: number): Uint8Array {
  if (to - from === 1) return sseBytes(events[from]!);
  let text = "";
  for (let i = from; i < to; i++) text += sseText(events[i]!);
  return utf8.encode(text);
}

/** WebSocket text of a logged event, encoded once and shared by every subscriber. */
export function wsText(logged: LoggedEvent): string {
  return (logged.ws ??= wsFrame(logged.event, logged.id));
}

export const SSE_RETRY = utf8.encode("retry: 1000\n\n");
export const SSE_PING = utf8.encode(": ping\n\n");
