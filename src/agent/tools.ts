import type { Static, TSchema } from "@sinclair/typebox";

export interface ToolContext {
  /** Aborted when the run is cancelled or the tool call times out. */
  signal: AbortSignal;
  sessionId: string;
}

export interface Tool<P extends TSchema = TSchema> {
  name: string;
  description: string;
  parameters: P;
  /** Return a string, or anything JSON-encodable (it is encoded for the model and clients). */
  execute(args: Static<P>, ctx: ToolContext): unknown | Promise<unknown>;
}

/** Typed helper: `args` in `execute` is inferred from the typebox `parameters`. */
export function defineTool<P extends TSchema>(tool: Tool<P>): Tool<P> {
  return tool;
}

/** A tool of any parameter type, as the agent holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTool = Tool<any>;
