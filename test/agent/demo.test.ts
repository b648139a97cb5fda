import { describe, expect, test } from "bun:test";
import { builtinTools, calculatorTool, currentTimeTool } from "../../src/agent/builtin-tools.ts";
import type { Message, ToolCall } from "../../src/agent/messages.ts";
import { DemoModel, splitWords } from "../../src/agent/models/demo.ts";
import type { ModelChunk, ModelRequest, ToolSpec } from "../../src/agent/models/model.ts";
import type { AnyTool, ToolContext } from "../../src/agent/tools.ts";

const specs: ToolSpec[] = builtinTools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
const ctx: ToolContext = { signal: new AbortController().signal, sessionId: "test" };

function request(messages: Message[], tools: ToolSpec[] = specs): ModelRequest {
  return { instructions: "be helpful", messages, tools };
}

async function collect(model: DemoModel, req: ModelRequest, signal = new AbortController().signal): Promise<ModelChunk[]> {
  const chunks: ModelChunk[] = [];
  for await (const chunk of model.stream(req, signal)) chunks.push(chunk);
  return chunks;
}

interface Round {
  chunks: ModelChunk[];
  thinking: string;
  text: string;
  thinkingDeltas: number;
  textDeltas: number;
  call: ToolCall | null;
  usage: Extract<ModelChunk, { type: "usage" }>;
}

function summarize(chunks: ModelChunk[]): Round {
  let thinking = "";
  let text = "";
  let thinkingDeltas = 0;
  let textDeltas = 0;
  let call: ToolCall | null = null;
  const usages = chunks.filter((c) => c.type === "usage");
  expect(usages.length).toBe(1);
  expect(chunks[chunks.length - 1]!.type).toBe("usage");
  for (const c of chunks) {
    if (c.type === "thinking") {
      thinking += c.content;
      thinkingDeltas++;
    } else if (c.type === "text") {
      text += c.content;
      textDeltas++;
    } else if (c.type === "tool_call") {
      expect(c.index).toBe(0);
      if (c.id !== undefined) {
        expect(call).toBeNull(); // id and name come once, in the first fragment
        call = { id: c.id, name: c.name ?? "", arguments: c.args ?? "" };
      } else {
        expect(call).not.toBeNull();
        call!.arguments += c.args ?? "";
      }
    }
  }
  const usage = usages[0] as Extract<ModelChunk, { type: "usage" }>;
  return { chunks, thinking, text, thinkingDeltas, textDeltas, call, usage };
}

/** Plays the agent's part: runs the tool the model called and asks for the answer round. */
async function runTurn(model: DemoModel, history: Message[], prompt: string, tools: AnyTool[] = builtinTools) {
  const messages: Message[] = [...history, { role: "user", content: prompt }];
  const first = summarize(await collect(model, request(messages)));
  if (!first.call) {
    messages.push({ role: "assistant", content: first.text, thinking: first.thinking });
    return { first, answer: null, messages };
  }
  const call = first.call;
  messages.push({ role: "assistant", content: first.text, tool_calls: [call] });
  const tool = tools.find((t) => t.name === call.name)!;
  let content: string;
  let isError = false;
  try {
    const value = await tool.execute(JSON.parse(call.arguments), ctx);
    content = typeof value === "string" ? value : JSON.stringify(value);
  } catch (err) {
    content = (err as Error).message;
    isError = true;
  }
  messages.push({ role: "tool", content, tool_call_id: call.id, name: call.name, is_error: isError });
  const answer = summarize(await collect(model, request(messages)));
  messages.push({ role: "assistant", content: answer.text });
  return { first, answer, messages };
}

const fast = () => new DemoModel({ delayMs: 0 });

describe("DemoModel", () => {
  test("name and option checks", () => {
    expect(fast().name).toBe("demo");
    expect(() => new DemoModel({ delayMs: -1 })).toThrow(RangeError);
    expect(() => new DemoModel({ benchTokens: 0 })).toThrow(RangeError);
    expect(() => new DemoModel({ benchTokens: 1.5 })).toThrow(RangeError);
    expect(() => new DemoModel({ benchTokens: null })).not.toThrow();
  });

  test("arithmetic: thinking, a calculator call, then an answer with the result", async () => {
    const { first, answer } = await runTurn(fast(), [], "What is 12*7?");
    expect(first.thinking).toBe("The user asks for arithmetic, so I will use the calculator.");
    expect(first.thinkingDeltas).toBe(splitWords(first.thinking).length);
    expect(first.text).toBe("");
    expect(first.call).toEqual({ id: "call_1_0", name: "calculator", arguments: '{"expression": "12*7"}' });
    expect(JSON.parse(first.call!.arguments)).toEqual({ expression: "12*7" });
    // The first fragment carries id and name with empty args, then 3+ argument pieces.
    const fragments = first.chunks.filter((c) => c.type === "tool_call");
    expect(fragments[0]).toEqual({ type: "tool_call", index: 0, id: "call_1_0", name: "calculator", args: "" });
    expect(fragments.length).toBeGreaterThanOrEqual(4);
    // Thinking precedes the call.
    expect(first.chunks.findIndex((c) => c.type === "tool_call")).toBeGreaterThan(
      first.chunks.findLastIndex((c) => c.type === "thinking"),
    );
    expect(first.usage).toEqual({ type: "usage", prompt_tokens: 3, completion_tokens: first.thinkingDeltas, cost: 0 });

    expect(answer!.text).toBe("12*7 = 84.");
    expect(answer!.thinking).toBe("");
    expect(answer!.call).toBeNull();
    expect(answer!.usage).toEqual({ type: "usage", prompt_tokens: 0, completion_tokens: answer!.textDeltas, cost: 0 });
  });

  test("arithmetic variants are extracted", async () => {
    const cases: Array<[string, string]> = [
      ["What's 12 * 7, please?", "12 * 7"],
      ["compute (2+3)*4.", "(2+3)*4"],
      ["What is sqrt(16)?", "sqrt(16)"],
      ["how much is 2^10", "2^10"],
    ];
    for (const [prompt, expression] of cases) {
      const first = summarize(await collect(fast(), request([{ role: "user", content: prompt }])));
      expect(first.call?.name).toBe("calculator");
      expect(JSON.parse(first.call!.arguments)).toEqual({ expression });
    }
  });

  test("numbers that are not arithmetic do not call the calculator", async () => {
    const cases: Array<[string, string | null]> = [
      ["What time is it in UTC+2?", "current_time"],
      ["What day was 2024-01-05?", "current_time"],
      ["round 3 - final", null],
      ["It is -5 degrees outside", null],
    ];
    for (const [prompt, tool] of cases) {
      const first = summarize(await collect(fast(), request([{ role: "user", content: prompt }])));
      expect(first.call?.name ?? null).toBe(tool);
    }
  });

  test("a malformed expression: is_error result and an answer that says so", async () => {
    const { first, answer, messages } = await runTurn(fast(), [], "What is 2+*3?");
    expect(JSON.parse(first.call!.arguments)).toEqual({ expression: "2+*3" });
    const toolMessage = messages.find((m) => m.role === "tool");
    expect(toolMessage).toMatchObject({ is_error: true, content: "Unexpected '*' at position 2" });
    expect(answer!.text).toBe("I could not evaluate 2+*3: Unexpected '*' at position 2.");
  });

  test("a time question calls current_time (UTC or the named zone)", async () => {
    const utc = await runTurn(fast(), [], "What time is it?");
    expect(utc.first.thinking).toContain("time");
    expect(utc.first.call!.name).toBe("current_time");
    expect(JSON.parse(utc.first.call!.arguments)).toEqual({ timezone: "UTC" });
    expect(utc.answer!.text).toMatch(/^The current time in UTC is .+\.$/);

    const paris = await runTurn(fast(), [], "What's the date today in Europe/Paris?");
    expect(JSON.parse(paris.first.call!.arguments)).toEqual({ timezone: "Europe/Paris" });
    expect(paris.answer!.text).toMatch(/^The current time in Europe\/Paris is .+ GMT\+[12]\.$/);
  });

  test("an unknown zone: the tool fails and the answer says why", async () => {
    const { answer } = await runTurn(fast(), [], "What time is it in Mars/Olympus?");
    expect(answer!.text).toBe("I could not get the current time: Unknown time zone: Mars/Olympus.");
  });

  test("names are remembered across turns", async () => {
    const model = fast();
    const one = await runTurn(model, [], "My name is Alice.");
    expect(one.first.thinking.length).toBeGreaterThan(0);
    expect(one.first.text).toContain("Alice");
    expect(one.first.call).toBeNull();

    const filler = await runTurn(model, one.messages, "What is 1+1?");
    const two = await runTurn(model, filler.messages, "What is my name?");
    expect(two.first.text).toBe("Your name is Alice.");
    const three = await runTurn(model, two.messages, "what's my name");
    expect(three.first.text).toBe("Your name is Alice.");
    // Ids stay unique within the conversation.
    expect(filler.first.call!.id).not.toBe(one.first.call?.id);

    const renamed = await runTurn(model, three.messages, "Actually, my name is Bob Smith and I like tea");
    expect(renamed.first.text).toContain("Bob Smith!");
    expect((await runTurn(model, renamed.messages, "What’s my name?")).first.text).toBe("Your name is Bob Smith.");
  });

  test("an unknown name is admitted", async () => {
    const { first } = await runTurn(fast(), [], "What is my name?");
    expect(first.text).toContain("don't know your name");
    expect(first.call).toBeNull();
  });

  test("anything else: a multi-sentence reply quoting the prompt", async () => {
    const prompt = "Tell me a story about dragons";
    const { first } = await runTurn(fast(), [], prompt);
    expect(first.thinking.length).toBeGreaterThan(0);
    expect(first.text).toContain(`"${prompt}"`);
    expect(first.text).toContain("BOND_MODEL");
    expect(first.text.split(/[.!?](?:\s|$)/).filter(Boolean).length).toBeGreaterThanOrEqual(3);
    expect(first.call).toBeNull();
    expect(first.usage).toEqual({
      type: "usage",
      prompt_tokens: 6,
      completion_tokens: first.thinkingDeltas + first.textDeltas,
      cost: 0,
    });
  });

  test("deltas are word-sized and join to the exact text", async () => {
    const { first } = await runTurn(fast(), [], "Hello   there,\nfriend");
    for (const c of first.chunks) {
      if (c.type !== "text" && c.type !== "thinking") continue;
      expect(c.content).toMatch(/^\s*\S+\s*$/);
    }
    expect(first.text).toContain('"Hello   there,\nfriend"');
    expect(splitWords("a  b\nc ")).toEqual(["a  ", "b\n", "c "]);
    expect(splitWords("")).toEqual([]);
  });

  test("a very long prompt is quoted only in part", async () => {
    const prompt = "word ".repeat(20_000).trim();
    const { first } = await runTurn(fast(), [], prompt);
    expect(first.text.length).toBeLessThan(1000);
    expect(first.usage.prompt_tokens).toBe(20_000);
  });

  test("white space only does not crash", async () => {
    const first = summarize(await collect(fast(), request([{ role: "user", content: "  \n " }])));
    expect(first.text.length).toBeGreaterThan(0);
    expect(first.usage.prompt_tokens).toBe(0);
    const none = summarize(await collect(fast(), request([])));
    expect(none.usage.prompt_tokens).toBe(0);
  });

  test("without the tools offered, it answers directly", async () => {
    const math = summarize(await collect(fast(), request([{ role: "user", content: "What is 6*7?" }], [])));
    expect(math.call).toBeNull();
    expect(math.text).toBe("6*7 = 42.");
    const time = summarize(await collect(fast(), request([{ role: "user", content: "What time is it?" }], [])));
    expect(time.call).toBeNull();
    expect(time.text).toMatch(/^The current time in UTC is /);
  });

  test("several tool results in one answer round", async () => {
    const calls: ToolCall[] = [
      { id: "a", name: "calculator", arguments: '{"expression":"1+2"}' },
      { id: "b", name: "current_time", arguments: "{}" },
    ];
    const time = JSON.stringify(await currentTimeTool.execute({ timezone: "UTC" }, ctx));
    const messages: Message[] = [
      { role: "user", content: "1+2 and the time" },
      { role: "assistant", content: "", tool_calls: calls },
      { role: "tool", content: String(await calculatorTool.execute({ expression: "1+2" }, ctx)), tool_call_id: "a", name: "calculator", is_error: false },
      { role: "tool", content: time, tool_call_id: "b", name: "current_time", is_error: false },
    ];
    const answer = summarize(await collect(fast(), request(messages)));
    expect(answer.text).toMatch(/^1\+2 = 3\. The current time in UTC is .+\.$/);
  });

  test("delay 0 streams 1000 deltas with no timers", async () => {
    const model = new DemoModel({ delayMs: 0, benchTokens: 1000 });
    const realSetTimeout = globalThis.setTimeout;
    let timers = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      timers++;
      return realSetTimeout(...args);
    }) as typeof setTimeout;
    try {
      const chunks = await collect(model, request([{ role: "user", content: "go fast now" }]));
      expect(chunks.length).toBe(1001);
      expect(timers).toBe(0);
      const round = summarize(chunks);
      expect(round.textDeltas).toBe(1000);
      expect(round.thinkingDeltas).toBe(0);
      expect(round.call).toBeNull();
      expect(chunks[0]).toEqual({ type: "text", content: "t0 " });
      expect(chunks[999]).toEqual({ type: "text", content: "t999 " });
      expect(round.usage).toEqual({ type: "usage", prompt_tokens: 3, completion_tokens: 1000, cost: 0 });

      // The demo path sets no timers either.
      const demo = summarize(await collect(fast(), request([{ role: "user", content: "word ".repeat(50) }])));
      expect(demo.textDeltas).toBeGreaterThan(50);
      expect(timers).toBe(0);
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
  });

  test("bench mode ignores tools and names", async () => {
    const model = new DemoModel({ delayMs: 0, benchTokens: 3 });
    const round = summarize(await collect(model, request([{ role: "user", content: "What is 12*7?" }])));
    expect(round.text).toBe("t0 t1 t2 ");
    expect(round.call).toBeNull();
    expect(round.thinking).toBe("");
  });

  test("delay paces the deltas", async () => {
    const model = new DemoModel({ delayMs: 5, benchTokens: 4 });
    const started = performance.now();
    const chunks = await collect(model, request([{ role: "user", content: "x" }]));
    expect(chunks.length).toBe(5);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });

  test("pacing keeps a fixed schedule: a slow consumer does not push later deltas back", async () => {
    // Deltas are due 30, 60, … 180 ms after the start. The consumer stalls 90 ms
    // after the first one; the overdue deltas then go out at once, so the round
    // still ends near 180 ms (pausing 30 ms after each delta would end near 270 ms).
    const model = new DemoModel({ delayMs: 30, benchTokens: 6 });
    const started = performance.now();
    const times: number[] = [];
    for await (const chunk of model.stream(request([{ role: "user", content: "x" }]), new AbortController().signal)) {
      if (chunk.type !== "text") continue;
      times.push(performance.now() - started);
      if (times.length === 1) await Bun.sleep(90);
    }
    const total = performance.now() - started;
    expect(times.length).toBe(6);
    expect(times[0]!).toBeGreaterThanOrEqual(29); // never early
    expect(times[5]!).toBeGreaterThanOrEqual(179);
    expect(total).toBeLessThan(240);
  });

  test("many paced streams at once: every delta on its own schedule, an aborted stream leaves the others on time", async () => {
    // Different delays and start times interleave their due times (they share one timer).
    const runs = Array.from({ length: 30 }, (_, i) => ({ delay: 10 + (i % 7) * 3, startIn: (i * 7) % 20, controller: new AbortController() }));
    const aborted = runs[4]!;
    const abortTimer = setTimeout(() => aborted.controller.abort(new Error("stop")), 35);
    try {
      const results = await Promise.all(
        runs.map(async (r) => {
          await Bun.sleep(r.startIn);
          const model = new DemoModel({ delayMs: r.delay, benchTokens: 5 });
          const t0 = performance.now();
          const times: number[] = [];
          try {
            for await (const chunk of model.stream(request([{ role: "user", content: "x" }]), r.controller.signal)) {
              if (chunk.type === "text") times.push(performance.now() - t0);
            }
            return { r, times, error: null as unknown };
          } catch (err) {
            return { r, times, error: err };
          }
        }),
      );
      for (const { r, times, error } of results) {
        if (r === aborted) {
          expect((error as Error).message).toBe("stop");
          expect(times.length).toBeLessThan(5);
          continue;
        }
        expect(error).toBeNull();
        expect(times.length).toBe(5);
        times.forEach((t, k) => {
          expect(t).toBeGreaterThanOrEqual((k + 1) * r.delay - 1.5); // never early (timers round to whole ms)
          expect(t).toBeLessThan((k + 1) * r.delay + 60); // not pushed back by the others
        });
      }
    } finally {
      clearTimeout(abortTimer);
    }
  });

  test("abort during a long delay ends the stream promptly", async () => {
    for (const options of [{ delayMs: 1000 }, { delayMs: 1000, benchTokens: 10 }]) {
      const model = new DemoModel(options);
      const controller = new AbortController();
      const reason = new Error("stop");
      const seen: ModelChunk[] = [];
      const started = performance.now();
      const timer = setTimeout(() => controller.abort(reason), 30);
      let caught: unknown = null;
      try {
        for await (const chunk of model.stream(request([{ role: "user", content: "hello" }]), controller.signal)) {
          seen.push(chunk);
        }
      } catch (err) {
        caught = err;
      } finally {
        clearTimeout(timer);
      }
      expect(caught).toBe(reason);
      expect(seen.length).toBe(0);
      expect(performance.now() - started).toBeLessThan(500);
    }
  });

  test("an already aborted signal stops at once, with or without delay", async () => {
    for (const delayMs of [0, 50]) {
      const controller = new AbortController();
      controller.abort(new Error("gone"));
      const model = new DemoModel({ delayMs });
      await expect(collect(model, request([{ role: "user", content: "hi" }]), controller.signal)).rejects.toThrow("gone");
    }
  });
});
