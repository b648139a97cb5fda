import type { TSchema } from "@sinclair/typebox";
import type { Message } from "../messages.ts";

/** What the agent hands a model for one round. */
export interface ModelRequest {
  instructions: string;
  messages: readonly Message[];
  tools: readonly ToolSpec[];
}

export interface ToolSpec {
  name: string;
  description: string;
  /** A typebox schema is plain JSON Schema, so it goes to providers as is. */
  parameters: TSchema;
}

/**
 * What a model streams. Tool calls arrive as fragments keyed by `index`
 * (id and name usually once, arguments in pieces), as OpenAI-style APIs send them.
 */
export type ModelChunk =
  | { type: "text"; content: string }
  | { type: "thinking"; content: string }
  | { type: "tool_call"; index: number; id?: string; name?: string; args?: string }
  | { type: "usage"; prompt_tokens: number; completion_tokens: number; cost: number | null };

export interface Model {
  /** Reported in `usage.model` and `/health`. Never contains a secret. */
  readonly name: string;
  stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelChunk>;
}

/** A fault a model reports with a message that is safe to show a client. */
export class ModelError extends Error {
  override readonly name = "ModelError";
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}
