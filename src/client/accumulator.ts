/** Folds a run's events into the state a UI renders: text, thinking, tool calls, usage, status. */
import type { AgentEvent } from "../agent/events.ts";
import type { UsageEvent } from "./types.ts";

export type RunStatus = "streaming" | "completed" | "error" | "cancelled";

export interface AccumulatedToolCall {
  /** The tool-call id; "" while the model is still forming the call. */
  id: string;
  name: string;
  /** The parsed arguments once the call executes (`tool_exec`); before that, undefined. */
  args: unknown;
  /** The argument text as the model streamed it (`tool_delta`s). */
  argsText: string;
  result?: string;
  isError?: boolean;
  /** forming: the model is writing the call; running: executing; done: its result is in. */
  state: "forming" | "running" | "done";
}

export type Usage = Omit<UsageEvent, "type">;

export interface RunState {
  text: string;
  thinking: string;
  toolCalls: AccumulatedToolCall[];
  /** The latest `usage` event (it counts the whole run so far); null until one arrives. */
  usage: Usage | null;
  status: RunStatus;
  /** `complete`'s final output. */
  output?: string;
  /** The `error` event's message. */
  error?: string;
  /** The `cancelled` event's reason (or the one given to `markCancelled`). */
  reason?: string;
}

export class RunAccumulator {
  private text = "";
  private thinking = "";
  private readonly calls: AccumulatedToolCall[] = [];
  private usage: Usage | null = null;
  private status: RunStatus = "streaming";
  private output: string | undefined;
  private error: string | undefined;
  private reason: string | undefined;

  /** Apply one event; returns `this` so pushes chain. Events after the terminal one are ignored. */
  push(event: AgentEvent): this {
    if (this.status !== "streaming") return this;
    switch (event.type) {
      case "text":
        this.text += event.content;
        break;
      case "thinking":
        this.thinking += event.content;
        break;
      case "block_start":
        if (event.kind === "tool-call") this.calls.push({ id: "", name: "", args: undefined, argsText: "", state: "forming" });
        break;
      case "tool_delta": {
        const forming = this.lastForming();
        if (forming) {
          forming.name += event.name;
          forming.argsText += event.args;
        } else {
          this.calls.push({ id: "", name: event.name, args: undefined, argsText: event.args, state: "forming" });
        }
        break;
      }
      case "tool_exec": {
        // Calls execute in the order the model formed them (API.md §1): take the oldest forming one.
        const call = this.calls.find((c) => c.state === "forming");
        if (call) {
          call.id = event.id;
          call.name = event.name;
          call.args = event.args;
          call.state = "running";
        } else {
          this.calls.push({ id: event.id, name: event.name, args: event.args, argsText: JSON.stringify(event.args) ?? "", state: "running" });
        }
        break;
      }
      case "tool_result": {
        const call = this.calls.find((c) => c.id === event.id);
        if (call) {
          call.result = event.result;
          call.isError = event.is_error;
          call.state = "done";
        } else {
          this.calls.push({ id: event.id, name: event.name, args: undefined, argsText: "", result: event.result, isError: event.is_error, state: "done" });
        }
        break;
      }
      case "usage":
        this.usage = {
          prompt_tokens: event.prompt_tokens,
          completion_tokens: event.completion_tokens,
          total_tokens: event.total_tokens,
          total_cost: event.total_cost,
          model: event.model,
        };
        break;
      case "complete":
        this.status = "completed";
        this.output = event.data;
        break;
      case "error":
        this.status = "error";
        this.error = event.error;
        break;
      case "cancelled":
        this.status = "cancelled";
        this.reason = event.reason;
        break;
      case "block_end":
        break;
    }
    return this;
  }

  /** For a stream the caller aborted locally: the server's own `cancelled` event will not be read. */
  markCancelled(reason = "aborted"): this {
    if (this.status === "streaming") {
      this.status = "cancelled";
      this.reason = reason;
    }
    return this;
  }

  /** A fresh snapshot (new objects each time, so UI frameworks see the change). */
  get state(): RunState {
    const state: RunState = {
      text: this.text,
      thinking: this.thinking,
      toolCalls: this.calls.map((c) => ({ ...c })),
      usage: this.usage ? { ...this.usage } : null,
      status: this.status,
    };
    if (this.output !== undefined) state.output = this.output;
    if (this.error !== undefined) state.error = this.error;
    if (this.reason !== undefined) state.reason = this.reason;
    return state;
  }

  private lastForming(): AccumulatedToolCall | undefined {
    const last = this.calls[this.calls.length - 1];
    return last?.state === "forming" ? last : undefined;
  }
}

/** Fold a whole list of events; with an async source (e.g. `bond.ask(...)`), returns a promise. */
export function accumulate(events: Iterable<AgentEvent>): RunState;
export function accumulate(events: AsyncIterable<AgentEvent>): Promise<RunState>;
export function accumulate(events: Iterable<AgentEvent> | AsyncIterable<AgentEvent>): RunState | Promise<RunState> {
  const acc = new RunAccumulator();
  if (Symbol.asyncIterator in events) {
    return (async () => {
      for await (const event of events) acc.push(event);
      return acc.state;
    })();
  }
  for (const event of events) acc.push(event);
  return acc.state;
}
