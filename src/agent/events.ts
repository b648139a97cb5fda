/** The one event union every transport encodes (API.md §1). */

export type BlockKind = "text" | "thinking" | "tool-call";

export interface UsageTotals {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  total_cost: number | null;
}

export type AgentEvent =
  | { type: "block_start"; kind: BlockKind; idx: number }
  | { type: "text"; content: string }
  | { type: "thinking"; content: string }
  | { type: "tool_delta"; name: string; args: string }
  | { type: "tool_exec"; id: string; name: string; args: unknown }
  | { type: "tool_result"; id: string; name: string; result: string; is_error: boolean }
  | { type: "block_end"; kind: BlockKind; idx: number }
  | ({ type: "usage"; model: string } & UsageTotals)
  | { type: "complete"; data: string }
  | { type: "error"; error: string }
  | { type: "cancelled"; reason: string };

export type AgentEventType = AgentEvent["type"];
export type TerminalEvent = Extract<AgentEvent, { type: "complete" | "error" | "cancelled" }>;

export function isTerminal(event: AgentEvent): event is TerminalEvent {
  return event.type === "complete" || event.type === "error" || event.type === "cancelled";
}
