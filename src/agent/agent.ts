import type { AgentEvent, BlockKind } from "./events.ts";
import type { Message, ToolCall } from "./messages.ts";
import { ModelError, type Model, type ModelChunk, type ModelRequest, type ToolSpec } from "./models/model.ts";
import type { AnyTool } from "./tools.ts";
import { ToolRunner, type ToolOutcome } from "./tool-runner.ts";
import { abortedTerminal } from "./abort.ts";

export interface BondAgentOptions {
  name: string;
  instructions?: string;
  model: Model;
  tools?: readonly AnyTool[];
  /** Rounds of tool execution one run may take before it fails (API.md §4: 10). */
  maxToolRounds?: number;
  /** Per tool call (API.md §4: 30 s). */
  toolTimeoutMs?: number;
}

export interface RunInput {
  history: readonly Message[];
  prompt: string;
  signal: AbortSignal;
  sessionId: string;
  /**
   * When given (the server passes its session's history array), the run appends its messages
   * to this array as they complete — the prompt at once, a tool round with its results, the
   * answer at the end — and the model sees it instead of a copy of `history` (which is then
   * ignored): a long conversation costs nothing per run. `RunOutcome.messages` still lists them.
   */
  conversation?: Message[];
}

/** What a finished run adds to the session: its messages and what it spent. */
export interface RunOutcome {
  messages: Message[];
  /** The run's `usage` event (the last one emitted), shared: the log keeps it, and a session keeps its last log. */
  usage: UsageEvent;
}

export type UsageEvent = Extract<AgentEvent, { type: "usage" }>;

const DEFAULT_INSTRUCTIONS = "You are a helpful assistant.";

/**
 * The agent: a model plus tools. Stateless across sessions — history goes in,
 * new messages come out — so one instance serves every session concurrently.
 */
export class BondAgent {
  readonly name: string;
  readonly instructions: string;
  readonly model: Model;
  readonly tools: readonly AnyTool[];
  readonly maxToolRounds: number;
  private readonly toolRunner: ToolRunner;
  private readonly toolSpecs: readonly ToolSpec[];

  constructor(options: BondAgentOptions) {
    this.name = options.name;
    this.instructions = options.instructions ?? DEFAULT_INSTRUCTIONS;
    this.model = options.model;
    this.tools = options.tools ?? [];
    this.maxToolRounds = options.maxToolRounds ?? 10;
    this.toolRunner = new ToolRunner(this.tools, options.toolTimeoutMs ?? 30_000);
    this.toolSpecs = this.tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
  }

  /**
   * One run as an async iterable: events in API.md §1 order, always ending with exactly
   * one terminal event preceded by `usage`; its return value holds the messages to append
   * to history. (The server uses `runInto`, which skips the generator hop per event.)
   */
  async *run(input: RunInput): AsyncGenerator<AgentEvent, RunOutcome> {
    const queue: AgentEvent[] = [];
    let read = 0;
    let wake: (() => void) | null = null;
    let settled: { outcome: RunOutcome } | { failure: unknown } | null = null;
    const notify = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    void this.runInto(input, (event) => {
      queue.push(event);
      notify();
    }).then(
      (outcome) => {
        settled = { outcome };
        notify();
      },
      (failure: unknown) => {
        settled = { failure };
        notify();
      },
    );
    for (;;) {
      while (read < queue.length) yield queue[read++]!;
      const end = settled as { outcome: RunOutcome } | { failure: unknown } | null;
      if (end) {
        if ("failure" in end) throw end.failure;
        return end.outcome;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }

  /**
   * One run, pushing each event to `emit` as it happens (same order and guarantees as
   * `run`); resolves with the messages to append to history and the run's usage.
   */
  async runInto(input: RunInput, emit: (event: AgentEvent) => void): Promise<RunOutcome> {
    // Kept small on purpose: the hot loop lives in `streamRound` and `applyChunk`. As one
    // function this was ~4 300 bytecodes whose top-tier compile took ~80 ms of the server's core.
    const { signal } = input;
    const user: Message = { role: "user", content: input.prompt };
    const added: Message[] = [user];
    const inPlace = input.conversation !== undefined;
    const messages: Message[] = input.conversation ?? input.history.slice();
    messages.push(user);
    const usage = new UsageCounter();
    const blocks = new BlockTracker();
    let turn: TurnState | null = null;

    try {
      for (let round = 0; ; round++) {
        turn = new TurnState();
        await this.streamRound({ instructions: this.instructions, messages, tools: this.toolSpecs }, signal, turn, blocks, usage, emit);
        const closing = blocks.close();
        if (closing) emit(closing);
        signal.throwIfAborted();

        const calls = turn.finishCalls(round);
        if (calls.length === 0) {
          const answer: Message = turn.thinking
            ? { role: "assistant", content: turn.text, thinking: turn.thinking }
            : { role: "assistant", content: turn.text };
          added.push(answer);
          // Only into a caller's conversation: our own copy was the model's request, left as it saw it.
          if (inPlace) messages.push(answer);
          const spent = usage.event(this.model.name);
          emit(spent);
          emit({ type: "complete", data: turn.text });
          return { messages: added, usage: spent };
        }
        if (round >= this.maxToolRounds) {
          throw new ModelError(`The run reached its limit of ${this.maxToolRounds} tool rounds.`);
        }
        emit(usage.event(this.model.name));
        await this.toolRound(turn, calls, input, messages, added, emit);
      }
    } catch (err) {
      const closing = blocks.close();
      if (closing) emit(closing);
      // Models report usage at the end of a round; for a round cut short, count what streamed (one token a delta).
      if (turn && !turn.usageReported) usage.add(0, turn.deltas, 0);
      const spent = usage.event(this.model.name);
      emit(spent);
      emit(signal.aborted ? abortedTerminal(signal.reason) : { type: "error", error: errorMessage(err) });
      return { messages: added, usage: spent };
    }
  }

  /** One model round: its chunks become events and the round's state in `turn`. */
  private async streamRound(
    request: ModelRequest,
    signal: AbortSignal,
    turn: TurnState,
    blocks: BlockTracker,
    usage: UsageCounter,
    emit: (event: AgentEvent) => void,
  ): Promise<void> {
    for await (const chunk of this.model.stream(request, signal)) {
      if (signal.aborted) return;
      applyChunk(chunk, turn, blocks, usage, emit);
    }
  }

  /** Runs a round's tool calls; the calls and their results then enter the conversation together. */
  private async toolRound(
    turn: TurnState,
    calls: ToolCall[],
    input: RunInput,
    messages: Message[],
    added: Message[],
    emit: (event: AgentEvent) => void,
  ): Promise<void> {
    const { signal } = input;
    const assistant: Message = { role: "assistant", content: turn.text, tool_calls: calls };
    if (turn.thinking) assistant.thinking = turn.thinking;
    const prepared = calls.map((call) => this.toolRunner.prepare(call));
    for (const p of prepared) emit({ type: "tool_exec", id: p.call.id, name: p.call.name, args: p.args });
    const results = new Map<string, ToolOutcome>();
    for await (const outcome of this.toolRunner.runAll(prepared, { signal, sessionId: input.sessionId })) {
      results.set(outcome.id, outcome);
      emit({ type: "tool_result", id: outcome.id, name: outcome.name, result: outcome.result, is_error: outcome.isError });
    }
    signal.throwIfAborted();
    // The assistant's calls enter history only with their results: providers reject one without the other.
    messages.push(assistant);
    added.push(assistant);
    for (const call of calls) {
      const outcome = results.get(call.id);
      if (!outcome) continue;
      const toolMessage: Message = {
        role: "tool",
        content: outcome.result,
        tool_call_id: call.id,
        name: call.name,
        is_error: outcome.isError,
      };
      messages.push(toolMessage);
      added.push(toolMessage);
    }
  }
}

/** One chunk of a model's stream: the events it makes, and what it adds to the round. */
function applyChunk(chunk: ModelChunk, turn: TurnState, blocks: BlockTracker, usage: UsageCounter, emit: (event: AgentEvent) => void): void {
  switch (chunk.type) {
    case "text":
    case "thinking": {
      if (chunk.content === "") return;
      const start = blocks.enter(chunk.type);
      if (start) {
        if (start.end) emit(start.end);
        emit(start.begin);
      }
      if (chunk.type === "text") turn.textParts.push(chunk.content);
      else turn.addThinking(chunk.content);
      turn.deltas++;
      emit({ type: chunk.type, content: chunk.content });
      return;
    }
    case "tool_call": {
      const call = turn.callAt(chunk.index);
      if (chunk.id) call.id = chunk.id;
      if (chunk.name) call.name += chunk.name;
      if (chunk.args) {
        call.arguments += chunk.args;
        turn.deltas++;
      }
      if (call.isNew) {
        call.isNew = false;
        const start = blocks.enterToolCall(chunk.index);
        if (start.end) emit(start.end);
        emit(start.begin);
      } else if (!blocks.isToolCall(chunk.index)) {
        // A fragment of a call whose block already closed: keep it, show nothing.
        return;
      }
      if (chunk.name || chunk.args) emit({ type: "tool_delta", name: chunk.name ?? "", args: chunk.args ?? "" });
      return;
    }
    case "usage":
      usage.add(chunk.prompt_tokens, chunk.completion_tokens, chunk.cost);
      turn.usageReported = true;
      return;
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof ModelError) return err.message;
  // Anything else may carry internals (paths, keys): log it, tell the client little.
  console.error("[bond] run failed:", err);
  return "The agent failed with an internal error.";
}

type BlockEvent = Extract<AgentEvent, { type: "block_start" | "block_end" }>;

/** Blocks numbered below this share their (frozen) start and end events between runs. */
const SHARED_BLOCKS = 8;
/** Made on first use, not at module load: a start-up spent freezing 48 objects (~0.5 ms) is a slower cold start. */
const SHARED_STARTS: Record<BlockKind, BlockEvent[]> = { text: [], thinking: [], "tool-call": [] };
const SHARED_ENDS: Record<BlockKind, BlockEvent[]> = { text: [], thinking: [], "tool-call": [] };

/**
 * A block's start or end event. Most runs have a few blocks, and a finished session keeps its
 * last run's events: a shared event is one object fewer for each full collection to visit.
 */
function blockEvent(type: BlockEvent["type"], kind: BlockKind, idx: number): BlockEvent {
  if (idx >= SHARED_BLOCKS) return { type, kind, idx };
  const shared = (type === "block_start" ? SHARED_STARTS : SHARED_ENDS)[kind];
  return (shared[idx] ??= Object.freeze({ type, kind, idx }));
}

/** Opens and closes blocks so that exactly one is open at a time, numbered without gaps. */
class BlockTracker {
  private open: { kind: BlockKind; idx: number; callIndex: number } | null = null;
  private next = 0;

  /** Enter a text/thinking block; returns the events to emit, or null if already inside one. */
  enter(kind: "text" | "thinking"): { begin: AgentEvent; end: AgentEvent | null } | null {
    if (this.open?.kind === kind) return null;
    return this.switchTo(kind, -1);
  }

  enterToolCall(callIndex: number): { begin: AgentEvent; end: AgentEvent | null } {
    return this.switchTo("tool-call", callIndex);
  }

  isToolCall(callIndex: number): boolean {
    return this.open?.kind === "tool-call" && this.open.callIndex === callIndex;
  }

  close(): AgentEvent | null {
    const open = this.open;
    if (!open) return null;
    this.open = null;
    return blockEvent("block_end", open.kind, open.idx);
  }

  private switchTo(kind: BlockKind, callIndex: number): { begin: AgentEvent; end: AgentEvent | null } {
    const end = this.close();
    const idx = this.next++;
    this.open = { kind, idx, callIndex };
    return { begin: blockEvent("block_start", kind, idx), end };
  }
}

interface PendingCall {
  id: string;
  name: string;
  arguments: string;
  isNew: boolean;
}

/** What one model round produced. A running run keeps one: what only some rounds need is made on first use. */
class TurnState {
  /**
   * The round's deltas, joined once at its end: `+=` per delta would build a rope of one
   * GC cell per delta, all alive until the round ends.
   */
  readonly textParts: string[] = [];
  private thinkingParts: string[] | null = null;
  private joined: { text: string; thinking: string } | null = null;

  get text(): string {
    return (this.joined ??= this.join()).text;
  }

  get thinking(): string {
    return (this.joined ??= this.join()).thinking;
  }

  addThinking(content: string): void {
    (this.thinkingParts ??= []).push(content);
  }

  private join(): { text: string; thinking: string } {
    return { text: this.textParts.join(""), thinking: this.thinkingParts?.join("") ?? "" };
  }

  /** Deltas streamed this round, and whether the model reported the round's usage. */
  deltas = 0;
  usageReported = false;
  private calls: Map<number, PendingCall> | null = null;

  callAt(index: number): PendingCall {
    const calls = (this.calls ??= new Map());
    let call = calls.get(index);
    if (!call) {
      call = { id: "", name: "", arguments: "", isNew: true };
      calls.set(index, call);
    }
    return call;
  }

  /** The round's calls in the order the model formed them, each with an id. */
  finishCalls(round: number): ToolCall[] {
    const out: ToolCall[] = [];
    if (this.calls === null) return out;
    let n = 0;
    for (const call of this.calls.values()) {
      const id = call.id || `call_${round}_${n}_${crypto.randomUUID().slice(0, 8)}`;
      out.push({ id, name: call.name, arguments: call.arguments });
      n++;
    }
    return out;
  }
}

/** Sums usage over the rounds of a run; cost stays null once any round's cost is unknown. */
class UsageCounter {
  private prompt = 0;
  private completion = 0;
  private cost: number | null = 0;

  add(prompt: number, completion: number, cost: number | null): void {
    this.prompt += prompt;
    this.completion += completion;
    this.cost = this.cost === null || cost === null ? null : this.cost + cost;
  }

  event(model: string): UsageEvent {
    return {
      type: "usage",
      prompt_tokens: this.prompt,
      completion_tokens: this.completion,
      total_tokens: this.prompt + this.completion,
      total_cost: this.cost,
      model,
    };
  }
}
