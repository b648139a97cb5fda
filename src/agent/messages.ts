/** Conversation history: owned by the session, handed to the agent on each run. */

export interface ToolCall {
  id: string;
  name: string;
  /** The raw JSON argument text as the model produced it. */
  arguments: string;
}

export type Message =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; thinking?: string; tool_calls?: ToolCall[] }
  | { role: "tool"; content: string; tool_call_id: string; name: string; is_error: boolean };
