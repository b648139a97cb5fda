import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import type { Message } from "../../src/agent/messages.ts";
import { ModelError, type ModelChunk, type ModelRequest } from "../../src/agent/models/model.ts";
import { OpenAIModel, type OpenAIModelOptions } from "../../src/agent/models/openai.ts";
import { costOf, priceFor } from "../../src/agent/models/pricing.ts";
import { OLLAMA_BASE_URL, parseModelSpec, resolveModel } from "../../src/agent/models/resolve.ts";
import { DemoModel } from "../../src/agent/models/demo.ts";
import { resolveConfig } from "../../src/config.ts";
import { ConfigError } from "../../src/config-load.ts";
import {
  closedPortURL,
  delta,
  errorReply,
  finish,
  startCuttingServer,
  startFakeOpenAI,
  stream,
  textReply,
  toolCallReply,
  toolFragment,
  usage,
  type FakeOpenAI,
  type JsonObject,
} from "../helpers/fake-openai.ts";

const KEY = "sk-test-SECRET0123456789abcdef";

let fake: FakeOpenAI;
beforeEach(() => {
  fake = startFakeOpenAI();
});
afterEach(async () => {
  await fake.close();
});

function model(options: Partial<OpenAIModelOptions> = {}): OpenAIModel {
  return new OpenAIModel({
    model: "gpt-4o-mini",
    apiKey: KEY,
    baseURL: fake.baseURL,
    firstTokenTimeoutMs: 500,
    maxRetries: 2,
    ...options,
  });
}

function ask(prompt: string, tools: ModelRequest["tools"] = []): ModelRequest {
  return { instructions: "Be brief.", messages: [{ role: "user", content: prompt }], tools };
}

/** Drains one model round: its chunks, and the error it ended with (if any). */
async function run(
  m: OpenAIModel,
  request: ModelRequest = ask("hi"),
  signal: AbortSignal = new AbortController().signal,
): Promise<{ chunks: ModelChunk[]; error: unknown }> {
  const chunks: ModelChunk[] = [];
  try {
    for await (const chunk of m.stream(request, signal)) chunks.push(chunk);
    return { chunks, error: null };
  } catch (error) {
    return { chunks, error };
  }
}

function texts(chunks: ModelChunk[], type: "text" | "thinking"): string {
  return chunks.map((c) => (c.type === type ? c.content : "")).join("");
}

function modelError(error: unknown): ModelError {
  expect(error).toBeInstanceOf(ModelError);
  return error as ModelError;
}

function sentBody(i = 0): JsonObject {
  const req = fake.received[i];
  if (!req) throw new Error(`fake received no request #${i}`);
  return req.body;
}

describe("streaming", () => {
  test("plain text: deltas in order, then usage; the request streams with usage and no tools", async () => {
    fake.enqueue(textReply(["Hel", "lo", " world"], { prompt: 12, completion: 3 }));
    const { chunks, error } = await run(model());
    expect(error).toBeNull();
    expect(chunks).toEqual([
      { type: "text", content: "Hel" },
      { type: "text", content: "lo" },
      { type: "text", content: " world" },
      { type: "usage", prompt_tokens: 12, completion_tokens: 3, cost: costOf("gpt-4o-mini", 12, 3) },
    ]);
    const body = sentBody();
    expect(body.model).toBe("gpt-4o-mini");
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect("tools" in body).toBe(false);
    expect(body.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "hi" },
    ]);
    expect(fake.received[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  test("reasoning_content deltas (DeepSeek, vLLM, llama.cpp) become thinking, then text", async () => {
    fake.enqueue(
      stream([
        delta({ role: "assistant", content: null, reasoning_content: "" }),
        delta({ reasoning_content: "Let me " }),
        delta({ reasoning_content: "think." }),
        delta({ content: "Answer." }),
        finish(),
        usage(5, 4),
      ]),
    );
    const { chunks, error } = await run(model());
    expect(error).toBeNull();
    expect(chunks.slice(0, 3)).toEqual([
      { type: "thinking", content: "Let me " },
      { type: "thinking", content: "think." },
      { type: "text", content: "Answer." },
    ]);
  });

  test("reasoning deltas (OpenRouter, Ollama) become thinking; a server sending both fields is not doubled", async () => {
    fake.enqueue(
      stream([
        delta({ role: "assistant", content: "" }),
        delta({ reasoning: "Hmm, " }),
        delta({ reasoning: "same text", reasoning_content: "same text" }),
        delta({ content: "Done." }),
        finish(),
      ]),
    );
    const { chunks, error } = await run(model());
    expect(error).toBeNull();
    expect(texts(chunks, "thinking")).toBe("Hmm, same text");
    expect(texts(chunks, "text")).toBe("Done.");
    // No usage chunk from the server: none is invented.
    expect(chunks.some((c) => c.type === "usage")).toBe(false);
  });

  test("one tool call whose arguments arrive in 6 fragments passes through fragment by fragment", async () => {
    const parts = ['{"ci', 'ty": ', '"Par', "is, Fr", 'ance"', "}"];
    fake.enqueue(toolCallReply("call_1", "get_weather", parts));
    const { chunks, error } = await run(model());
    expect(error).toBeNull();
    const calls = chunks.filter((c) => c.type === "tool_call");
    expect(calls[0]).toEqual({ type: "tool_call", index: 0, id: "call_1", name: "get_weather" });
    expect(calls.slice(1)).toEqual(parts.map((args) => ({ type: "tool_call", index: 0, args })));
    const joined = calls.map((c) => (c.type === "tool_call" ? (c.args ?? "") : "")).join("");
    expect(JSON.parse(joined)).toEqual({ city: "Paris, France" });
  });

  test("two parallel tool calls with interleaved fragments keep their own index", async () => {
    fake.enqueue(
      stream([
        delta({ role: "assistant", content: null }),
        toolFragment(0, { id: "call_a", name: "add", args: "" }),
        toolFragment(0, { args: '{"a":1,' }),
        toolFragment(1, { id: "call_b", name: "mul", args: '{"a":' }),
        toolFragment(0, { args: '"b":2}' }),
        toolFragment(1, { args: "3,\"b\":4}" }),
        finish("tool_calls"),
        usage(30, 20),
      ]),
    );
    const { chunks, error } = await run(model());
    expect(error).toBeNull();
    const byIndex = new Map<number, { id?: string; name: string; args: string }>();
    for (const c of chunks) {
      if (c.type !== "tool_call") continue;
      const call = byIndex.get(c.index) ?? { name: "", args: "" };
      if (c.id) call.id = c.id;
      call.name += c.name ?? "";
      call.args += c.args ?? "";
      byIndex.set(c.index, call);
    }
    expect(byIndex.get(0)).toEqual({ id: "call_a", name: "add", args: '{"a":1,"b":2}' });
    expect(byIndex.get(1)).toEqual({ id: "call_b", name: "mul", args: '{"a":3,"b":4}' });
  });

  test("a server repeating id and name on every fragment, or omitting index, still yields one call each", async () => {
    fake.enqueue(
      stream([
        delta({ tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "echo", arguments: '{"x":' } }] }),
        delta({ tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "echo", arguments: "1}" } }] }),
        // Whole calls without `index`, as some servers send them.
        delta({ tool_calls: [{ id: "c2", type: "function", function: { name: "echo", arguments: '{"x":2}' } }] }),
        finish("tool_calls"),
      ]),
    );
    const { chunks, error } = await run(model());
    expect(error).toBeNull();
    expect(chunks).toEqual([
      { type: "tool_call", index: 0, id: "c1", name: "echo", args: '{"x":' },
      { type: "tool_call", index: 0, args: "1}" },
      { type: "tool_call", index: 1, id: "c2", name: "echo", args: '{"x":2}' },
    ]);
  });

  test("usage and cost: priced models get a cost, unknown models null", async () => {
    fake.enqueue(textReply(["a"], { prompt: 1000, completion: 500 }), textReply(["b"], { prompt: 7, completion: 1 }));
    const priced = await run(model({ model: "gpt-4o-mini" }));
    expect(priced.chunks.at(-1)).toEqual({ type: "usage", prompt_tokens: 1000, completion_tokens: 500, cost: 0.00045 });
    const unknown = await run(model({ model: "llama3.2", name: "ollama:llama3.2" }));
    expect(unknown.chunks.at(-1)).toEqual({ type: "usage", prompt_tokens: 7, completion_tokens: 1, cost: null });
  });

  test("history goes out in order with roles, tool results linked by tool_call_id, and tool schemas as JSON Schema", async () => {
    const history: Message[] = [
      { role: "user", content: "What is 2+3 and the time?" },
      {
        role: "assistant",
        content: "",
        thinking: "need tools",
        tool_calls: [
          { id: "call_1", name: "calculator", arguments: '{"expression":"2+3"}' },
          { id: "call_2", name: "current_time", arguments: "" },
        ],
      },
      { role: "tool", tool_call_id: "call_1", name: "calculator", content: "5", is_error: false },
      { role: "tool", tool_call_id: "call_2", name: "current_time", content: "12:00", is_error: false },
      { role: "assistant", content: "5, and it is noon." },
      { role: "user", content: "Thanks" },
    ];
    const parameters = Type.Object({ expression: Type.String({ description: "an arithmetic expression" }) });
    const tools = [
      { name: "calculator", description: "Evaluates arithmetic", parameters },
      { name: "current_time", description: "The time now", parameters: Type.Object({}) },
    ];
    fake.enqueue(textReply(["ok"]));
    const { error } = await run(model(), { instructions: "System words.", messages: history, tools });
    expect(error).toBeNull();
    const body = sentBody();
    expect(body.messages).toEqual([
      { role: "system", content: "System words." },
      { role: "user", content: "What is 2+3 and the time?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "calculator", arguments: '{"expression":"2+3"}' } },
          { id: "call_2", type: "function", function: { name: "current_time", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "5" },
      { role: "tool", tool_call_id: "call_2", content: "12:00" },
      { role: "assistant", content: "5, and it is noon." },
      { role: "user", content: "Thanks" },
    ]);
    expect(body.tools).toEqual([
      {
        type: "function",
        function: {
          name: "calculator",
          description: "Evaluates arithmetic",
          parameters: {
            type: "object",
            properties: { expression: { type: "string", description: "an arithmetic expression" } },
            required: ["expression"],
          },
        },
      },
      { type: "function", function: { name: "current_time", description: "The time now", parameters: { type: "object", properties: {} } } },
    ]);
  });
});

describe("faults", () => {
  test("bad key (401): provider text reaches the error, the key never does", async () => {
    fake.enqueue(errorReply(401, `Incorrect API key provided: ${KEY}. You can find your API key at …`, {}, "invalid_api_key"));
    const { error } = await run(model());
    const e = modelError(error);
    expect(e.status).toBe(401);
    expect(e.message).toContain("rejected the API key (401)");
    expect(e.message).toContain("Incorrect API key provided");
    expect(e.message).not.toContain(KEY);
    expect(e.message).not.toContain("SECRET");
    expect(fake.received.length).toBe(1); // not retried
  });

  test("unknown model (404) names the model and keeps the provider's words", async () => {
    fake.enqueue(errorReply(404, "The model `gpt-nope` does not exist or you do not have access to it.", {}, "model_not_found"));
    const e = modelError((await run(model({ model: "gpt-nope" }))).error);
    expect(e.status).toBe(404);
    expect(e.message).toContain('Model "gpt-nope"');
    expect(e.message).toContain("does not exist");
    expect(fake.received.length).toBe(1);
  });

  test("Ollama-style 404 body with a bare error string", async () => {
    fake.enqueue({ kind: "error", status: 404, body: { error: "model \"llama9\" not found, try pulling it first" } });
    const e = modelError((await run(model({ model: "llama9" }))).error);
    expect(e.message).toContain('model "llama9" not found');
  });

  test("429 with retry-after: 0 is retried and the answer streams", async () => {
    fake.enqueue(errorReply(429, "Rate limit reached", { "retry-after": "0" }), textReply(["after retry"]));
    const { chunks, error } = await run(model());
    expect(error).toBeNull();
    expect(texts(chunks, "text")).toBe("after retry");
    expect(fake.received.length).toBe(2);
  });

  test("429 retry honours retry-after: 1 (seconds)", async () => {
    fake.enqueue(errorReply(429, "Rate limit reached", { "retry-after": "1" }), textReply(["ok"]));
    const started = performance.now();
    const { error } = await run(model());
    expect(error).toBeNull();
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.received.length).toBe(2);
  });

  test("429 that persists past model_max_retries fails with the provider's text", async () => {
    fake.enqueue(
      errorReply(429, "Rate limit reached for gpt-4o-mini", { "retry-after-ms": "10" }),
      errorReply(429, "Rate limit reached for gpt-4o-mini", { "retry-after-ms": "10" }),
    );
    const e = modelError((await run(model({ maxRetries: 1 }))).error);
    expect(e.status).toBe(429);
    expect(e.message).toContain("Rate limit reached for gpt-4o-mini");
    expect(fake.received.length).toBe(2);
  });

  test("429 asking for a longer wait than allowed fails at once", async () => {
    fake.enqueue(errorReply(429, "You exceeded your current quota", { "retry-after": "3600" }));
    const started = performance.now();
    const e = modelError((await run(model())).error);
    expect(e.status).toBe(429);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(fake.received.length).toBe(1);
  });

  test("5xx is retried, then reported with its status", async () => {
    fake.enqueue(errorReply(500, "boom", { "retry-after-ms": "0" }), textReply(["recovered"]));
    expect(texts((await run(model())).chunks, "text")).toBe("recovered");

    fake.enqueue({ kind: "error", status: 503, body: "<html>Service Unavailable</html>" });
    const e = modelError((await run(model({ maxRetries: 0 }))).error);
    expect(e.status).toBe(503);
    expect(e.message).toContain("failed (503)");
    expect(e.message).toContain("Service Unavailable");
  });

  test("connection refused → a clear error, after the configured retries", async () => {
    const m = model({ baseURL: await closedPortURL(), maxRetries: 0 });
    const e = modelError((await run(m)).error);
    expect(e.status).toBe(502);
    expect(e.message).toContain("Could not connect to the model provider");
    expect(e.message).not.toContain(KEY);
  });

  test("a stream that stops mid-way (no finish_reason, no [DONE]) fails after what it streamed, without retrying", async () => {
    fake.enqueue(stream([delta({ role: "assistant", content: "" }), delta({ content: "Half an ans" })], { done: false }));
    const { chunks, error } = await run(model());
    expect(texts(chunks, "text")).toBe("Half an ans");
    const e = modelError(error);
    expect(e.message).toContain("ended before the response was complete");
    expect(fake.received.length).toBe(1);
  });

  test("a connection cut mid-body fails the round", async () => {
    const cutting = startCuttingServer([delta({ role: "assistant", content: "" }), delta({ content: "partial" })]);
    try {
      const { chunks, error } = await run(model({ baseURL: cutting.baseURL }));
      expect(texts(chunks, "text")).toBe("partial");
      expect(modelError(error).message).toContain("connection to the model provider broke");
      expect(cutting.requests()).toBe(1);
    } finally {
      cutting.close();
    }
  });

  test("an error object inside the stream becomes the error, with its text", async () => {
    fake.enqueue(
      stream([
        delta({ content: "Start" }),
        { error: { message: "Upstream provider overloaded", type: "server_error", code: 502 } },
      ]),
    );
    const { chunks, error } = await run(model());
    expect(texts(chunks, "text")).toBe("Start");
    const e = modelError(error);
    expect(e.message).toContain("Upstream provider overloaded");
    expect(fake.received.length).toBe(1);
  });

  test("malformed JSON in the stream is an error, not a crash", async () => {
    fake.enqueue(stream([{ raw: "data: {not json\n\n" }]));
    const e = modelError((await run(model())).error);
    expect(e.message).toContain("malformed");
  });

  test("first chunk never comes (no response headers): timeout error, not retried", async () => {
    fake.enqueue({ kind: "silent" });
    const started = performance.now();
    const e = modelError((await run(model({ firstTokenTimeoutMs: 300 }))).error);
    const elapsed = performance.now() - started;
    expect(e.status).toBe(504);
    expect(e.message).toContain("sent nothing within 0.3 s");
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(2000);
    expect(fake.received.length).toBe(1);
    await fake.waitForDisconnect(1000);
  });

  test("first chunk never comes (headers sent, body silent): timeout error", async () => {
    fake.enqueue(stream([], { hang: true }));
    const e = modelError((await run(model({ firstTokenTimeoutMs: 300 }))).error);
    expect(e.status).toBe(504);
    await fake.waitForDisconnect(1000);
  });

  test("a slow stream after its first chunk is not cut by the first-chunk timeout", async () => {
    fake.enqueue(stream([delta({ content: "a" }), delta({ content: "b" }), delta({ content: "c" }), finish()], { delayMs: 100 }));
    const { chunks, error } = await run(model({ firstTokenTimeoutMs: 250 }));
    expect(error).toBeNull();
    expect(texts(chunks, "text")).toBe("abc");
  });
});

describe("cancellation", () => {
  test("abort mid-stream closes the upstream request at once and rethrows the abort", async () => {
    fake.enqueue(stream([delta({ content: "one" }), delta({ content: "two" })], { hang: true }));
    const controller = new AbortController();
    const seen: ModelChunk[] = [];
    let caught: unknown = null;
    const started = performance.now();
    try {
      for await (const chunk of model().stream(ask("go"), controller.signal)) {
        seen.push(chunk);
        if (seen.length === 2) controller.abort();
      }
    } catch (e) {
      caught = e;
    }
    expect(controller.signal.aborted).toBe(true);
    expect(caught).toBe(controller.signal.reason);
    expect(caught).not.toBeInstanceOf(ModelError);
    await fake.waitForDisconnect(1000);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  test("abort while the upstream is silent ends at once", async () => {
    fake.enqueue({ kind: "silent" });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const { error } = await run(model({ firstTokenTimeoutMs: 5000 }), ask("x"), controller.signal);
    expect(error).toBe(controller.signal.reason);
    expect(performance.now() - started).toBeLessThan(1000);
    await fake.waitForDisconnect(1000);
  });

  test("abort during a retry wait ends at once", async () => {
    fake.enqueue(errorReply(429, "slow down", { "retry-after": "30" }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const { error } = await run(model(), ask("x"), controller.signal);
    expect(error).toBe(controller.signal.reason);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(fake.received.length).toBe(1);
  });

  test("a consumer that stops reading early closes the upstream request", async () => {
    fake.enqueue(stream([delta({ content: "one" }), delta({ content: "two" })], { hang: true }));
    for await (const chunk of model().stream(ask("go"), new AbortController().signal)) {
      expect(chunk).toEqual({ type: "text", content: "one" });
      break;
    }
    await fake.waitForDisconnect(1000);
  });
});

describe("pricing", () => {
  test("exact ids, dated snapshots and provider prefixes share a price; others are unknown", () => {
    expect(priceFor("gpt-4o-mini")).toEqual({ input: 0.15, output: 0.6 });
    expect(priceFor("gpt-4o-mini-2024-07-18")).toEqual({ input: 0.15, output: 0.6 });
    expect(priceFor("openai/gpt-4o")).toEqual({ input: 2.5, output: 10 });
    expect(priceFor("gpt-4o-audio-preview")).toBeNull();
    expect(priceFor("llama3.2")).toBeNull();
    expect(priceFor("_note")).toBeNull();
    expect(costOf("gpt-4o", 1_000_000, 1_000_000)).toBe(12.5);
    expect(costOf("mystery", 10, 10)).toBeNull();
  });
});

describe("resolveModel", () => {
  test("demo, openai: and ollama: give the right model and a name without the key", async () => {
    expect(await resolveModel(resolveConfig({ model: "demo" }))).toBeInstanceOf(DemoModel);
    const openai = await resolveModel(resolveConfig({ model: "openai:gpt-4o-mini", openai_api_key: KEY }));
    expect(openai).toBeInstanceOf(OpenAIModel);
    expect(openai.name).toBe("openai:gpt-4o-mini");
    expect(Bun.inspect(openai)).not.toContain(KEY);
    const keyless = await resolveModel(resolveConfig({ model: "openai:qwen2.5", openai_base_url: fake.baseURL }));
    expect(keyless.name).toBe("openai:qwen2.5");
    expect((await resolveModel(resolveConfig({ model: "ollama:llama3.2" }))).name).toBe("ollama:llama3.2");
    expect(OLLAMA_BASE_URL).toBe("http://localhost:11434/v1");
  });

  test("openai: with neither key nor base URL, and malformed specs, are one-line config errors", async () => {
    await expect(resolveModel(resolveConfig({ model: "openai:gpt-4o-mini" }))).rejects.toThrow(ConfigError);
    await expect(resolveModel(resolveConfig({ model: "openai:gpt-4o-mini" }))).rejects.toThrow(/OPENAI_API_KEY/);
    await expect(resolveModel(resolveConfig({ model: "gpt-4o" }))).rejects.toThrow(ConfigError);
    for (const bad of ["openai:", "gpt-4o", "anthropic:claude", ""]) expect(() => parseModelSpec(bad)).toThrow(ConfigError);
    expect(parseModelSpec(" ollama:llama3.2 ")).toEqual({ provider: "ollama", model: "llama3.2" });
  });

  test("a keyless openai: model talks to its base URL with the config's timeouts", async () => {
    fake.enqueue(textReply(["local"]));
    const m = await resolveModel(resolveConfig({ model: "openai:qwen2.5", openai_base_url: fake.baseURL, model_first_token_timeout_seconds: 0.5 }));
    const chunks: ModelChunk[] = [];
    for await (const c of m.stream(ask("hi"), new AbortController().signal)) chunks.push(c);
    expect(texts(chunks, "text")).toBe("local");
    expect(sentBody().model).toBe("qwen2.5");
    expect(fake.received[0]?.headers.authorization).toBe("Bearer none");
  });
});
