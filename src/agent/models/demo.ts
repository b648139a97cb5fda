/**
 * The embedded demo model (API.md §6): deterministic, no network, and it walks
 * through the whole protocol — thinking, text, tool calls, tool results, usage.
 *
 * The agent calls `stream` once per round. The first round sees the user's
 * prompt last; an answer round sees the tool results of the previous round last.
 */

import { evaluateExpression, formatNumber } from "../calculator.ts";
import { describeTime } from "../builtin-tools.ts";
import { type AbortWatcher, unwatchAbort, watchAbort } from "../abort-switch.ts";
import type { Message, ToolCall } from "../messages.ts";
import type { Model, ModelChunk, ModelRequest } from "./model.ts";

export interface DemoModelOptions {
  /** Time between deltas, on a fixed schedule from the round's start; 0 = no pause at all (no 0 ms timers). Default 20. */
  delayMs?: number;
  /** Bench mode: every reply is exactly this many text deltas and nothing else. */
  benchTokens?: number | null;
}

export const DEFAULT_DEMO_DELAY_MS = 20;

/** Longest stretch of the prompt the fallback reply quotes, so a huge prompt does not become a huge reply. */
const MAX_QUOTE_CHARS = 280;

interface PlannedCall {
  name: string;
  /** Argument JSON, already cut into the fragments to stream. */
  fragments: string[];
}

/** Everything one round will say, decided up front so streaming is a plain loop. */
interface Plan {
  thinking: string;
  text: string;
  call: PlannedCall | null;
  promptTokens: number;
}

export class DemoModel implements Model {
  readonly name = "demo";
  private readonly delayMs: number;
  /** Bench replies are precomputed frozen chunks (as iterator results): the hot path allocates no strings. */
  private readonly benchChunks: readonly IteratorResult<ModelChunk>[] | null;

  constructor(options: DemoModelOptions = {}) {
    const delayMs = options.delayMs ?? DEFAULT_DEMO_DELAY_MS;
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError(`delayMs must be a number >= 0, got ${delayMs}`);
    this.delayMs = delayMs;
    const n = options.benchTokens;
    if (n === undefined || n === null) {
      this.benchChunks = null;
    } else {
      if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`benchTokens must be a positive integer, got ${n}`);
      const chunks: IteratorResult<ModelChunk>[] = new Array(n);
      for (let i = 0; i < n; i++) chunks[i] = Object.freeze({ value: Object.freeze({ type: "text", content: `t${i} ` }), done: false });
      this.benchChunks = chunks;
    }
  }

  stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelChunk> {
    return this.benchChunks ? this.streamBench(this.benchChunks, request, signal) : this.streamDemo(request, signal);
  }

  private streamBench(chunks: readonly IteratorResult<ModelChunk>[], request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelChunk> {
    const promptTokens = countWords(lastUserPrompt(request.messages));
    return new BenchStream(chunks, promptTokens, this.delayMs > 0 ? new Pacer(this.delayMs, signal) : null, signal);
  }

  private async *streamDemo(request: ModelRequest, signal: AbortSignal): AsyncGenerator<ModelChunk> {
    const plan = planRound(request);
    const pace = this.delayMs > 0 ? new Pacer(this.delayMs, signal) : null;
    let deltas = 0;
    try {
      for (const content of splitWords(plan.thinking)) {
        await gate(pace, signal);
        yield { type: "thinking", content };
        deltas++;
      }
      for (const content of splitWords(plan.text)) {
        await gate(pace, signal);
        yield { type: "text", content };
        deltas++;
      }
      if (plan.call) {
        await gate(pace, signal);
        // Unique within a conversation: history only grows.
        yield { type: "tool_call", index: 0, id: `call_${request.messages.length}_0`, name: plan.call.name, args: "" };
        for (const args of plan.call.fragments) {
          await gate(pace, signal);
          yield { type: "tool_call", index: 0, args };
        }
      }
    } finally {
      pace?.dispose();
    }
    yield { type: "usage", prompt_tokens: plan.promptTokens, completion_tokens: deltas, cost: 0 };
  }
}

/** Waits for the next delta's slot; with no delay it only checks for abort (awaiting undefined sets no timer). */
function gate(pace: Pacer | null, signal: AbortSignal): Promise<void> | undefined {
  if (pace) return pace.next(undefined);
  if (signal.aborted) throw signal.reason;
  return undefined;
}

const DONE: IteratorResult<ModelChunk> = Object.freeze({ value: undefined, done: true });

/**
 * A bench reply as a hand-written async iterator: one promise per chunk and no generator
 * frames. The demo model stands in for a real one, so its own cost should not count as the
 * server's; the agent still consumes it chunk by chunk with `for await`, as any model.
 */
class BenchStream implements AsyncIterableIterator<ModelChunk> {
  private next_ = 0;

  constructor(
    private readonly chunks: readonly IteratorResult<ModelChunk>[],
    private readonly promptTokens: number,
    private readonly pace: Pacer | null,
    private readonly signal: AbortSignal,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ModelChunk>> {
    const i = this.next_;
    if (i > this.chunks.length) return Promise.resolve(DONE);
    if (i === this.chunks.length) {
      this.end();
      const usage: ModelChunk = { type: "usage", prompt_tokens: this.promptTokens, completion_tokens: this.chunks.length, cost: 0 };
      return Promise.resolve({ value: usage, done: false });
    }
    if (this.signal.aborted) {
      this.end();
      return Promise.reject(this.signal.reason);
    }
    this.next_ = i + 1;
    const result = this.chunks[i]!;
    // A pause resolves with the chunk itself: no extra promise per delta. An abort during it
    // rejects it (the pacer has then already left the timeline and dropped its listener).
    return this.pace?.next(result) ?? Promise.resolve(result);
  }

  return(): Promise<IteratorResult<ModelChunk>> {
    this.end();
    return Promise.resolve(DONE);
  }

  private end(): void {
    this.next_ = this.chunks.length + 1;
    this.pace?.dispose();
  }
}

/**
 * A fixed schedule: delta k is due at t0 + (k+1)·delay, t0 being when the round
 * started. Pausing `delay` after each delta was handled would add every
 * consumer's lateness to all later deltas; this way a late delta does not push
 * the rest back, and a delta already due goes out without a timer.
 */
class Pacer implements AbortWatcher {
  private due: number;
  /** Position in the timeline's heap while a pause is pending; -1 otherwise. */
  index = -1;
  private resolve: (value: unknown) => void = noop;
  private value: unknown = undefined;
  private reject: (reason: unknown) => void = noop;
  private listening = false;

  constructor(
    private readonly delayMs: number,
    private readonly signal: AbortSignal,
  ) {
    this.due = performance.now();
  }

  /** When the next delta is due (performance.now() time). */
  get dueAt(): number {
    return this.due;
  }

  /** Waits for the next slot, then resolves with `value`; undefined when the slot is already due. */
  next<T>(value: T): Promise<T> | undefined {
    this.due += this.delayMs;
    if (this.signal.aborted) throw this.signal.reason;
    if (this.due <= performance.now()) return undefined;
    // One abort watcher for the stream's whole life, not one per pause: adding and removing a
    // listener per delta was a tenth of the server's time with hundreds of paced streams. A run's
    // signal is watched through its AbortSwitch, with no listener on it (see abort-switch.ts).
    if (!this.listening) {
      this.listening = true;
      watchAbort(this.signal, this);
    }
    this.value = value;
    return new Promise<T>((resolve, reject) => {
      this.resolve = resolve as (value: unknown) => void;
      this.reject = reject;
      timeline.add(this);
    });
  }

  /** Called by the timeline when the pause is over. */
  wake(): void {
    const resolve = this.resolve;
    const value = this.value;
    this.resolve = this.reject = noop;
    this.value = undefined;
    resolve(value);
  }

  /** Abort: a pending pause rejects at once with the signal's reason. */
  handleEvent(): void {
    this.listening = false;
    if (this.index < 0) return;
    timeline.remove(this);
    const reject = this.reject;
    this.resolve = this.reject = noop;
    reject(this.signal.reason);
  }

  /** The stream is over: forget the listener and any pending pause. */
  dispose(): void {
    if (this.listening) unwatchAbort(this.signal, this);
    this.listening = false;
    timeline.remove(this);
  }
}

function noop(): void {}

/**
 * Every pending pause of every demo stream shares ONE timer, armed for the earliest due time
 * (a min-heap). A timer per pause made each waiting stream hold a timer (a GC root) and three
 * closures: with 5 000 idle streams, every full collection took that much longer.
 */
class Timeline {
  private readonly heap: Pacer[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The due time the timer is set for (Infinity: none). */
  private armedFor = Number.POSITIVE_INFINITY;
  private readonly onTimer = (): void => this.fire();

  /** Queues the pacer's pending pause: `wake` is called at its due time. */
  add(p: Pacer): void {
    this.push(p);
    this.arm();
  }

  remove(w: Pacer): void {
    const i = w.index;
    if (i < 0) return;
    w.index = -1;
    const last = this.heap.pop()!;
    if (last === w) return;
    last.index = i;
    this.heap[i] = last;
    this.down(i);
    this.up(last.index);
  }

  private fire(): void {
    this.timer = null;
    this.armedFor = Number.POSITIVE_INFINITY;
    // Within 1 ms counts as due: a timer per pause fired as early as that too (whole milliseconds).
    const now = performance.now() + 1;
    for (let w = this.heap[0]; w !== undefined && w.dueAt <= now; w = this.heap[0]) {
      this.remove(w);
      w.wake();
    }
    this.arm();
  }

  private arm(): void {
    const first = this.heap[0];
    if (first === undefined || first.dueAt >= this.armedFor) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = first.dueAt;
    this.timer = setTimeout(this.onTimer, Math.max(0, first.dueAt - performance.now()));
  }

  private push(w: Pacer): void {
    w.index = this.heap.length;
    this.heap.push(w);
    this.up(w.index);
  }

  private up(i: number): void {
    const heap = this.heap;
    const w = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (parent.dueAt <= w.dueAt) break;
      heap[i] = parent;
      parent.index = i;
      i = p;
    }
    heap[i] = w;
    w.index = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const w = heap[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && heap[c + 1]!.dueAt < heap[c]!.dueAt) c++;
      const child = heap[c]!;
      if (child.dueAt >= w.dueAt) break;
      heap[i] = child;
      child.index = i;
      i = c;
    }
    heap[i] = w;
    w.index = i;
  }
}

const timeline = new Timeline();

/** Word-sized deltas, each a word with its trailing white space: joined, they are the exact text. */
export function splitWords(text: string): string[] {
  if (text === "") return [];
  return text.match(/\s*\S+\s*/g) ?? [text];
}

function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/).length;
}

function lastUserPrompt(messages: readonly Message[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === "user") return m.content;
  }
  return "";
}

// ---------------------------------------------------------------- planning

function planRound(request: ModelRequest): Plan {
  const last = request.messages[request.messages.length - 1];
  if (last?.role === "tool") return { thinking: "", text: answerToolResults(request.messages), call: null, promptTokens: 0 };

  const prompt = lastUserPrompt(request.messages).trim();
  const promptTokens = countWords(prompt);
  const offered = new Set(request.tools.map((t) => t.name));
  const reply = (thinking: string, text: string, call: PlannedCall | null = null): Plan => ({
    thinking,
    text,
    call,
    promptTokens,
  });

  if (prompt === "") {
    return reply("The message is empty, so I will ask for a question.", "I received an empty message. Ask me something, for example: What is 12*7?");
  }

  if (NAME_QUESTION.test(prompt)) {
    const name = rememberedName(request.messages);
    return reply(
      "The user asks for their name, so I will look back through our conversation.",
      name ? `Your name is ${name}.` : `I don't know your name yet. Tell me by saying "My name is …" and I will remember it.`,
    );
  }

  const stated = nameIn(prompt);
  if (stated) {
    return reply(
      "The user tells me their name, so I will remember it and greet them.",
      `Nice to meet you, ${stated}! I will remember your name for the rest of this conversation.`,
    );
  }

  const expression = findExpression(prompt);
  if (expression !== null) {
    if (offered.has("calculator")) {
      return reply("The user asks for arithmetic, so I will use the calculator.", "", {
        name: "calculator",
        fragments: argumentFragments("expression", expression),
      });
    }
    return reply(
      "The user asks for arithmetic and no calculator tool is offered, so I will work it out myself.",
      calculate(expression),
    );
  }

  if (TIME_QUESTION.test(prompt)) {
    const timezone = ZONE.exec(prompt)?.[0] ?? "UTC";
    if (offered.has("current_time")) {
      return reply("The user asks about the time, so I will use the current_time tool.", "", {
        name: "current_time",
        fragments: argumentFragments("timezone", timezone),
      });
    }
    return reply("The user asks about the time and no clock tool is offered, so I will read the clock myself.", tellTime(timezone));
  }

  return reply(
    "This is not arithmetic, a time question or about names, so I will answer directly.",
    `You said: "${quote(prompt)}". I am Bond's demo model, so I answer without a language model. ` +
      "Ask me to calculate something like 12*7, ask me for the current time, or tell me your name and ask for it later. " +
      "Set BOND_MODEL to use a real model.",
  );
}

/** `{"key": "value"}` in four fragments, as a provider streams arguments. */
function argumentFragments(key: string, value: string): string[] {
  const literal = JSON.stringify(value);
  const mid = Math.ceil(literal.length / 2);
  return [`{${JSON.stringify(key)}: `, literal.slice(0, mid), literal.slice(mid), "}"];
}

function quote(prompt: string): string {
  if (prompt.length <= MAX_QUOTE_CHARS) return prompt;
  let end = MAX_QUOTE_CHARS;
  const code = prompt.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // don't cut a surrogate pair in half
  return `${prompt.slice(0, end)}…`;
}

// ---------------------------------------------------------------- names

const NAME_QUESTION = /\b(?:what(?:'s|’s|\s+is)\s+my\s+name|do\s+you\s+(?:know|remember)\s+my\s+name)\b/i;
const NAME_STATEMENT = /\bmy\s+name\s+is\s+([^.!?,;:\n]+)/i;
/** Words that end a name: "My name is Alice and I like tea" → "Alice". */
const NAME_STOP = new Set(["and", "but", "so", "or", "i", "i'm", "im", "what", "who", "how", "please", "btw"]);
const MAX_NAME_WORDS = 4;

function nameIn(text: string): string | null {
  const match = NAME_STATEMENT.exec(text);
  if (!match) return null;
  const words: string[] = [];
  for (const raw of match[1]!.trim().split(/\s+/)) {
    const word = raw.replace(/^["'“‘(]+|["'”’)]+$/g, "");
    if (word === "" || NAME_STOP.has(word.toLowerCase()) || words.length === MAX_NAME_WORDS) break;
    words.push(word);
  }
  return words.length > 0 ? words.join(" ") : null;
}

/** The most recent name the user stated anywhere in the conversation. */
function rememberedName(messages: readonly Message[]): string | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== "user") continue;
    const name = nameIn(m.content);
    if (name) return name;
  }
  return null;
}

// ---------------------------------------------------------------- arithmetic

/** Runs of characters an expression can contain; function names only when a "(" follows. */
const MATH_RUN = /(?:\b(?:sqrt|abs|round|floor|ceil|min|max)(?=\s*\()|\bpi\b|[\d.,+\-*/%^()×÷−\s])+/gi;
/**
 * An operator between an operand and something more: "UTC+2", "-5" or "round 3 - final"
 * are not arithmetic; "2+*3" is (a malformed expression the calculator should report).
 */
const BINARY_OPERATOR = /[\d)]\s*(?:\*\*|[-+*/%^×÷−])\s*[\d(.+\-*/%^×÷−a-z]/i;
const FUNCTION_CALL = /\b(?:sqrt|abs|round|floor|ceil|min|max)\s*\(/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The first arithmetic-looking run in the prompt ("What is 12*7?" → "12*7"), or null. */
function findExpression(prompt: string): string | null {
  for (const match of prompt.matchAll(MATH_RUN)) {
    const candidate = tidyExpression(match[0]);
    if (!/\d/.test(candidate)) continue;
    if (!BINARY_OPERATOR.test(candidate) && !FUNCTION_CALL.test(candidate)) continue;
    if (ISO_DATE.test(candidate)) continue; // "2024-01-05" is a date, not a subtraction
    return candidate;
  }
  return null;
}

/** Drops sentence punctuation and unmatched outer parentheses the run picked up. */
function tidyExpression(run: string): string {
  let s = run.trim().replace(/^[,\s]+/, "").replace(/[.,\s]+$/, "");
  const count = (c: string) => s.split(c).length - 1;
  while (s.endsWith(")") && count(")") > count("(")) s = s.slice(0, -1).trimEnd();
  while (s.startsWith("(") && count("(") > count(")")) s = s.slice(1).trimStart();
  return s;
}

function calculate(expression: string): string {
  try {
    return `${expression} = ${formatNumber(evaluateExpression(expression))}.`;
  } catch (err) {
    return couldNotEvaluate(expression, err instanceof Error ? err.message : String(err));
  }
}

function couldNotEvaluate(expression: string, reason: string): string {
  return `I could not evaluate ${expression}: ${sentence(reason)}`;
}

// ---------------------------------------------------------------- time

const TIME_QUESTION = /\b(?:time|date|day|clock|today|tonight)\b/i;
/** An IANA zone written the usual way, e.g. Europe/Paris or America/Argentina/Buenos_Aires. */
const ZONE = /\b[A-Z][A-Za-z]*\/[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z][A-Za-z0-9_+-]*)?/;

function tellTime(timezone: string): string {
  try {
    const t = describeTime(timezone);
    return `The current time in ${t.timezone} is ${t.local}.`;
  } catch (err) {
    return `I could not get the current time: ${sentence(err instanceof Error ? err.message : String(err))}`;
  }
}

// ---------------------------------------------------------------- answer rounds

/** One sentence per tool result at the end of the conversation, in call order. */
function answerToolResults(messages: readonly Message[]): string {
  let start = messages.length;
  while (start > 0 && messages[start - 1]!.role === "tool") start--;
  const before = messages[start - 1];
  const calls: readonly ToolCall[] = before?.role === "assistant" ? (before.tool_calls ?? []) : [];
  const sentences: string[] = [];
  for (let i = start; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.role !== "tool") continue;
    const args = parseArgs(calls.find((c) => c.id === m.tool_call_id)?.arguments);
    sentences.push(answerOne(m.name, m.content, m.is_error, args));
  }
  return sentences.join(" ");
}

function answerOne(name: string, content: string, isError: boolean, args: Record<string, unknown>): string {
  if (name === "calculator") {
    const expression = typeof args.expression === "string" ? args.expression : null;
    if (isError) return couldNotEvaluate(expression ?? "the expression", content || "it is not valid.");
    return expression ? `${expression} = ${content}.` : `The result is ${content}.`;
  }
  if (name === "current_time") {
    if (isError) return `I could not get the current time: ${sentence(content || "the tool failed.")}`;
    const time = parseArgs(content);
    if (typeof time.local === "string" && typeof time.timezone === "string") {
      return `The current time in ${time.timezone} is ${time.local}.`;
    }
    return `The current time is ${sentence(content)}`;
  }
  return isError ? `The ${name} tool failed: ${sentence(content || "no reason given.")}` : `The ${name} tool returned: ${sentence(content)}`;
}

function parseArgs(json: string | undefined): Record<string, unknown> {
  if (!json) return {};
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Ends text with a full stop unless it already ends a sentence. */
function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
