/**
 * The `Model` seam over any OpenAI-compatible Chat Completions server
 * (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter, Groq, …) through
 * the official `openai` SDK, streaming.
 *
 * Retries are ours, not the SDK's (it gets `maxRetries: 0`): we retry 408,
 * 429, 5xx and connection failures only while nothing has been streamed yet,
 * honour `retry-after`, and run one first-chunk timer per attempt that also
 * covers a server that accepts the request and then says nothing.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, OpenAIError } from "openai";
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from "openai/resources/chat/completions";
import type { Message } from "../messages.ts";
import { ModelError, type Model, type ModelChunk, type ModelRequest, type ToolSpec } from "./model.ts";
import { costOf } from "./pricing.ts";

export interface OpenAIModelOptions {
  /** The model id as the provider knows it, e.g. `gpt-4o-mini` or `llama3.2`. */
  model: string;
  /** Reported in `usage.model` and `/health`; defaults to `openai:<model>`. Never a secret. */
  name?: string;
  /** Sent as the bearer token. Servers without keys still need a non-empty placeholder. */
  apiKey: string;
  /** e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`. */
  baseURL: string;
  /** How long one attempt may wait for its first streamed chunk (config: model_first_token_timeout_seconds). */
  firstTokenTimeoutMs: number;
  /** Retries on 408 / 429 / 5xx / connection failure before the first chunk (config: model_max_retries). */
  maxRetries: number;
  /** A `retry-after` longer than this fails at once instead of holding the run (default 60 s). */
  maxRetryAfterMs?: number;
}

const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
/** Provider error text that reaches clients is cut to this length. */
const MAX_PROVIDER_TEXT = 500;

/** Thrown inside an attempt when its first chunk did not come in time. */
class FirstChunkTimeout extends Error {}

interface Fault {
  error: ModelError;
  retryable: boolean;
  /** From `retry-after-ms` / `retry-after`, when the provider sent one. */
  retryAfterMs: number | null;
}

/** An attempt that produced its first chunk (or ended without any). */
interface OpenedStream {
  chunks: AsyncIterator<ChatCompletionChunk>;
  first: ChatCompletionChunk | null;
}

export class OpenAIModel implements Model {
  readonly name: string;
  /** Private (#) so inspecting or logging the model never prints the SDK client and its key. */
  readonly #client: OpenAI;
  private readonly model: string;
  private readonly firstTokenTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRetryAfterMs: number;
  private readonly scrub: (text: string) => string;

  constructor(options: OpenAIModelOptions) {
    this.model = options.model;
    this.name = options.name ?? `openai:${options.model}`;
    // Whole ms: 0.3 s * 1000 is 300.00000000000006, and the SDK wants integer timeouts.
    this.firstTokenTimeoutMs = Math.max(1, Math.round(options.firstTokenTimeoutMs));
    this.maxRetries = Math.max(0, Math.floor(options.maxRetries));
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.scrub = scrubber(options.apiKey);
    this.#client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      maxRetries: 0,
      // Our own timer ends an attempt first; the SDK's is only a backstop.
      timeout: this.firstTokenTimeoutMs + 5_000,
      // The SDK must never log: its lines can carry URLs and provider text we have not scrubbed.
      logLevel: "off",
    });
  }

  async *stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelChunk> {
    const body = buildRequestBody(this.model, request);
    const opened = await this.openWithRetries(body, signal);
    const mapper = new ChunkMapper();
    let chunk = opened.first;
    try {
      while (chunk) {
        for (const out of mapper.map(chunk)) yield out;
        const next = await opened.chunks.next();
        chunk = next.done ? null : next.value;
      }
    } catch (err) {
      signal.throwIfAborted();
      const usage = this.usageChunk(mapper);
      if (usage) yield usage; // spent tokens still count when the round fails
      throw this.classify(err).error;
    } finally {
      // Closes the HTTP request when we stop early (consumer break, abort, error).
      opened.chunks.return?.(undefined).catch(() => undefined);
    }
    // The SDK ends the iteration quietly when the request is aborted.
    signal.throwIfAborted();
    const usage = this.usageChunk(mapper);
    if (!mapper.finished) {
      if (usage) yield usage;
      throw new ModelError("The model provider's stream ended before the response was complete", 502);
    }
    if (usage) yield usage;
  }

  private usageChunk(mapper: ChunkMapper): ModelChunk | null {
    if (!mapper.usage) return null;
    const { prompt, completion, model } = mapper.usage;
    const cost = costOf(this.model, prompt, completion) ?? (model ? costOf(model, prompt, completion) : null);
    return { type: "usage", prompt_tokens: prompt, completion_tokens: completion, cost };
  }

  private async openWithRetries(body: ChatCompletionCreateParamsStreaming, signal: AbortSignal): Promise<OpenedStream> {
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      try {
        return await this.open(body, signal);
      } catch (err) {
        signal.throwIfAborted();
        const fault = this.classify(err);
        const wait = fault.retryable && attempt < this.maxRetries ? this.retryDelay(fault, attempt) : null;
        if (wait === null) throw fault.error;
        await sleep(wait, signal);
      }
    }
  }

  /** One attempt: send the request and wait for the first chunk, within the first-chunk timeout. */
  private async open(body: ChatCompletionCreateParamsStreaming, signal: AbortSignal): Promise<OpenedStream> {
    const attempt = new AbortController();
    const timer = setTimeout(() => attempt.abort(new FirstChunkTimeout()), this.firstTokenTimeoutMs);
    let chunks: AsyncIterator<ChatCompletionChunk> | undefined;
    try {
      const stream = await this.#client.chat.completions.create(body, { signal: AbortSignal.any([signal, attempt.signal]) });
      chunks = stream[Symbol.asyncIterator]();
      const first = await chunks.next();
      if (attempt.signal.aborted && !signal.aborted) throw new FirstChunkTimeout();
      return { chunks, first: first.done ? null : first.value };
    } catch (err) {
      chunks?.return?.(undefined).catch(() => undefined);
      if (attempt.signal.aborted && !signal.aborted) throw new FirstChunkTimeout();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Backoff 0.5 s, 1 s, 2 s … (max 8 s, with jitter), or what `retry-after` asks; null = don't retry. */
  private retryDelay(fault: Fault, attempt: number): number | null {
    if (fault.retryAfterMs !== null) return fault.retryAfterMs <= this.maxRetryAfterMs ? fault.retryAfterMs : null;
    const base = Math.min(500 * 2 ** attempt, 8_000);
    return base * (1 - Math.random() * 0.25);
  }

  /** Any failure → a client-safe ModelError (provider text kept, key scrubbed) and whether to retry. */
  private classify(err: unknown): Fault {
    const fault = (message: string, status: number, retryable = false, retryAfterMs: number | null = null): Fault => ({
      error: new ModelError(this.scrub(message), status),
      retryable,
      retryAfterMs,
    });
    if (err instanceof ModelError) return { error: err, retryable: false, retryAfterMs: null };
    if (err instanceof FirstChunkTimeout || err instanceof APIConnectionTimeoutError) {
      return fault(`The model provider sent nothing within ${this.firstTokenTimeoutMs / 1000} s (model_first_token_timeout_seconds)`, 504);
    }
    if (err instanceof APIUserAbortError) return fault("The model request was aborted", 502);
    if (err instanceof APIConnectionError) {
      return fault(`Could not connect to the model provider${connectionDetail(err)}`, 502, true);
    }
    if (err instanceof APIError) {
      const text = providerText(err);
      if (typeof err.status !== "number") return fault(`The model provider reported an error: ${text}`, 502);
      return fault(statusMessage(err.status, this.model, text), err.status, isRetryableStatus(err.status), retryAfterMs(err.headers));
    }
    if (err instanceof SyntaxError) return fault("The model provider sent a malformed stream", 502);
    if (err instanceof OpenAIError) return fault(`The model request failed: ${clip(err.message)}`, 502);
    // Socket faults from fetch while reading the body (Bun: TypeError with code ECONNRESET).
    const code = field(err, "code");
    if (typeof code === "string" && /^E[A-Z]{3,20}$/.test(code)) {
      return fault(`The connection to the model provider broke (${code})`, 502, true);
    }
    return fault("The model request failed unexpectedly", 502);
  }
}

// ── Request ────────────────────────────────────────────────────────────────

export function buildRequestBody(model: string, request: ModelRequest): ChatCompletionCreateParamsStreaming {
  const body: ChatCompletionCreateParamsStreaming = {
    model,
    messages: toOpenAIMessages(request.instructions, request.messages),
    stream: true,
    stream_options: { include_usage: true },
  };
  // Some servers reject an empty `tools` array, so it is left out entirely.
  if (request.tools.length > 0) body.tools = request.tools.map(toOpenAITool);
  return body;
}

function toOpenAIMessages(instructions: string, history: readonly Message[]): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  if (instructions) out.push({ role: "system", content: instructions });
  for (const m of history) {
    switch (m.role) {
      case "user":
        out.push({ role: "user", content: m.content });
        break;
      case "assistant": {
        // `thinking` is not sent back: DeepSeek rejects reasoning_content in input messages.
        const calls = m.tool_calls ?? [];
        if (calls.length === 0) {
          out.push({ role: "assistant", content: m.content });
          break;
        }
        out.push({
          role: "assistant",
          content: m.content === "" ? null : m.content,
          tool_calls: calls.map((c) => ({
            id: c.id,
            type: "function" as const,
            // Several servers refuse an empty argument string for a call that took no arguments.
            function: { name: c.name, arguments: c.arguments.trim() === "" ? "{}" : c.arguments },
          })),
        });
        break;
      }
      case "tool":
        out.push({ role: "tool", tool_call_id: m.tool_call_id, content: m.content });
        break;
    }
  }
  return out;
}

function toOpenAITool(tool: ToolSpec): ChatCompletionTool {
  // A JSON round trip drops typebox's symbol keys and leaves plain JSON Schema.
  const parameters = JSON.parse(JSON.stringify(tool.parameters)) as Record<string, unknown>;
  return { type: "function", function: { name: tool.name, description: tool.description, parameters } };
}

// ── Response chunks ────────────────────────────────────────────────────────

/**
 * Maps provider chunks to ModelChunks. Chunks are untrusted JSON whatever the
 * SDK's types say, so every field is read with a type check.
 */
class ChunkMapper {
  /** A choice reported finish_reason: the response is complete. */
  finished = false;
  usage: { prompt: number; completion: number; model: string | null } | null = null;
  /** Per call index: id and name already passed on (some servers repeat them on every fragment). */
  private readonly calls = new Map<number, { id: boolean; name: string }>();
  private lastIndex = -1;

  map(chunk: unknown): ModelChunk[] {
    const out: ModelChunk[] = [];
    const usage = field(chunk, "usage");
    if (isObject(usage)) {
      const model = field(chunk, "model");
      this.usage = {
        prompt: count(usage.prompt_tokens),
        completion: count(usage.completion_tokens),
        model: typeof model === "string" ? model : null,
      };
    }
    const choices = field(chunk, "choices");
    // One completion per request (n = 1): choice 0 is the answer.
    const choice = Array.isArray(choices) ? (choices.find((c) => field(c, "index") === 0) ?? choices[0]) : undefined;
    if (!isObject(choice)) return out;
    const delta = choice.delta;
    if (isObject(delta)) {
      // DeepSeek, vLLM and llama.cpp say `reasoning_content`; OpenRouter and Ollama say `reasoning`.
      // A server sending both sends the same text twice, so only one is used.
      const reasoning = nonEmpty(delta.reasoning_content) ?? nonEmpty(delta.reasoning);
      if (reasoning) out.push({ type: "thinking", content: reasoning });
      const text = nonEmpty(delta.content);
      if (text) out.push({ type: "text", content: text });
      const refusal = nonEmpty(delta.refusal);
      if (refusal) out.push({ type: "text", content: refusal });
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) {
          const mapped = this.toolFragment(call);
          if (mapped) out.push(mapped);
        }
      }
    }
    if (typeof choice.finish_reason === "string" && choice.finish_reason !== "") this.finished = true;
    return out;
  }

  private toolFragment(call: unknown): ModelChunk | null {
    if (!isObject(call)) return null;
    const id = nonEmpty(call.id);
    let index: number;
    if (typeof call.index === "number" && Number.isInteger(call.index) && call.index >= 0) index = call.index;
    else if (id !== null || this.lastIndex < 0) index = this.lastIndex + 1; // servers that omit index send whole calls
    else index = this.lastIndex;
    this.lastIndex = Math.max(this.lastIndex, index);

    const seen = this.calls.get(index) ?? { id: false, name: "" };
    this.calls.set(index, seen);
    const fn = isObject(call.function) ? call.function : {};
    const out: { type: "tool_call"; index: number; id?: string; name?: string; args?: string } = { type: "tool_call", index };
    if (id !== null && !seen.id) {
      out.id = id;
      seen.id = true;
    }
    const name = nonEmpty(fn.name);
    if (name !== null && name !== seen.name) {
      out.name = name;
      seen.name += name;
    }
    const args = nonEmpty(fn.arguments);
    if (args !== null) out.args = args;
    return out;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function field(v: unknown, key: string): unknown {
  return isObject(v) ? v[key] : undefined;
}

function nonEmpty(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

function count(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

// ── Faults ─────────────────────────────────────────────────────────────────

/** Removes the API key (and anything shaped like a key or bearer token) from text bound for clients. */
function scrubber(apiKey: string): (text: string) => string {
  // Short placeholders such as "ollama" are not secrets, and scrubbing them would mangle messages.
  const key = apiKey.length >= 8 ? apiKey : null;
  return (text) => {
    let out = key ? text.split(key).join("[redacted]") : text;
    out = out.replace(/\bsk-[A-Za-z0-9_*.-]{6,}/g, "sk-[redacted]");
    out = out.replace(/\b(Bearer)\s+[^\s"',]+/gi, "$1 [redacted]");
    return out;
  };
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_PROVIDER_TEXT ? `${flat.slice(0, MAX_PROVIDER_TEXT)}…` : flat;
}

/** The provider's own words: `error.message`, a bare error string, `detail`, or the raw body. */
function providerText(err: APIError): string {
  const e: unknown = err.error;
  let text: string;
  if (typeof e === "string") text = e;
  else if (isObject(e) && typeof e.message === "string") text = e.message;
  else if (isObject(e) && typeof e.detail === "string") text = e.detail;
  else if (isObject(e)) text = JSON.stringify(e);
  else text = err.message.replace(/^\d{3}\s+/, "");
  return clip(text) || "no details";
}

function statusMessage(status: number, model: string, text: string): string {
  if (status === 401) return `The model provider rejected the API key (401): ${text}`;
  if (status === 403) return `The model provider denied access (403): ${text}`;
  if (status === 404) return `Model "${model}" (or the API endpoint) was not found at the provider (404): ${text}`;
  if (status === 408) return `The model provider timed out (408): ${text}`;
  if (status === 429) return `The model provider is rate limiting requests (429): ${text}`;
  if (status >= 500) return `The model provider failed (${status}): ${text}`;
  if (status >= 400) return `The model provider rejected the request (${status}): ${text}`;
  return `The model provider answered ${status}: ${text}`;
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** `retry-after-ms`, or `retry-after` as seconds or an HTTP date; null when absent or unreadable. */
function retryAfterMs(headers: Headers | undefined): number | null {
  const ms = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers?.get("retry-after");
  if (!raw) return null;
  const seconds = Number(raw.trim());
  if (raw.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : null;
}

/** A short, non-secret hint such as ` (ConnectionRefused)` from the fetch error behind an APIConnectionError. */
function connectionDetail(err: APIConnectionError): string {
  const cause: unknown = err.cause;
  const code = isObject(cause) && typeof cause.code === "string" ? cause.code : null;
  return code && /^[A-Za-z_]{3,40}$/.test(code) ? ` (${code})` : "";
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
