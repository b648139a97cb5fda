import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { BondAgent } from "../../src/agent/agent.ts";
import { RunStop } from "../../src/agent/abort.ts";
import type { AgentEvent } from "../../src/agent/events.ts";
import { ModelError, type ModelChunk } from "../../src/agent/models/model.ts";
import { defineTool } from "../../src/agent/tools.ts";
import { ScriptedModel, text, usage, type Step } from "../helpers/scripted-model.ts";
import { checkRunInvariants, type RunEvent } from "../helpers/invariants.ts";

const call = (index: number, id: string, name: string, args: string): ModelChunk => ({ type: "tool_call", index, id, name, args });

const echo = defineTool({
  name: "echo",
  description: "echoes",
  parameters: Type.Object({ word: Type.String(), delayMs: Type.Optional(Type.Integer({ minimum: 0 })) }),
  execute: async ({ word, delayMs }) => {
    if (delayMs) await Bun.sleep(delayMs);
    return { echoed: word };
  },
});
const boom = defineTool({
  name: "boom",
  description: "throws",
  parameters: Type.Object({}),
  execute: () => {
    throw new Error("kaboom");
  },
});
const hang = defineTool({
  name: "hang",
  description: "never returns",
  parameters: Type.Object({}),
  execute: () => new Promise(() => {}),
});

async function collect(agent: BondAgent, prompt = "go", signal = new AbortController().signal) {
  const events: AgentEvent[] = [];
  const gen = agent.run({ history: [], prompt, signal, sessionId: "s" });
  for (;;) {
    const step = await gen.next();
    if (step.done) return { events, outcome: step.value };
    events.push(step.value);
  }
}

/** The agent's events as the transports number them, for the shared invariant checks. */
function numbered(events: AgentEvent[]): RunEvent[] {
  return events.map((e, i) => {
    const data: Record<string, unknown> = { ...e };
    delete data.type;
    return { id: `1:${i + 1}`, type: e.type, data };
  });
}

function agentWith(rounds: (round: number) => Step[], extra: Partial<ConstructorParameters<typeof BondAgent>[0]> = {}) {
  const model = new ScriptedModel((_req, round) => rounds(round));
  return { model, agent: new BondAgent({ name: "t", model, tools: [echo, boom, hang], toolTimeoutMs: 300, ...extra }) };
}

describe("BondAgent tool loop", () => {
  test("parallel calls: exec in block order, results as they finish, then a second round", async () => {
    const { agent, model } = agentWith((round) =>
      round === 0
        ? [call(0, "a", "echo", '{"word":"slow","delayMs":80}'), call(1, "b", "echo", '{"word":"fast"}'), usage(5, 2)]
        : [text("all "), text("done"), usage(7, 2)],
    );
    const { events, outcome } = await collect(agent);
    const terminal = checkRunInvariants(numbered(events));
    expect(terminal.data.data).toBe("all done");
    expect(events.filter((e) => e.type === "tool_exec").map((e) => (e as { id: string }).id)).toEqual(["a", "b"]);
    expect(events.filter((e) => e.type === "tool_result").map((e) => (e as { id: string }).id)).toEqual(["b", "a"]);
    expect(outcome.usage).toMatchObject({ type: "usage", prompt_tokens: 12, completion_tokens: 4, total_tokens: 16, total_cost: null });
    // The outcome's usage is the last usage event itself (one object kept per run, not two).
    expect(outcome.usage).toBe(events.findLast((e) => e.type === "usage") as typeof outcome.usage);
    // The second round saw both results, linked to their calls, in block order.
    const second = model.requests[1]!.messages;
    expect(second.map((m) => m.role)).toEqual(["user", "assistant", "tool", "tool"]);
    expect(second.slice(2).map((m) => (m as { tool_call_id: string }).tool_call_id)).toEqual(["a", "b"]);
    expect(outcome.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool", "tool", "assistant"]);
  });

  test.each([
    ["invalid JSON arguments", call(0, "x", "echo", '{"word": '), /Invalid JSON/],
    ["arguments that fail the schema", call(0, "x", "echo", '{"word": 5}'), /Invalid arguments for echo/],
    ["an unknown tool", call(0, "x", "nope", "{}"), /Unknown tool: nope/],
    ["a tool that throws", call(0, "x", "boom", "{}"), /kaboom/],
    ["a tool that never returns", call(0, "x", "hang", "{}"), /timed out/],
  ] as const)("%s becomes an is_error result the model sees; the run goes on", async (_name, chunk, message) => {
    const { agent, model } = agentWith((round) => (round === 0 ? [chunk, usage()] : [text("recovered"), usage()]));
    const { events } = await collect(agent);
    const result = events.find((e) => e.type === "tool_result") as Extract<AgentEvent, { type: "tool_result" }>;
    expect(result.is_error).toBe(true);
    expect(result.result).toMatch(message);
    expect(checkRunInvariants(numbered(events)).data.data).toBe("recovered");
    const tool = model.requests[1]!.messages.at(-1)!;
    expect(tool).toMatchObject({ role: "tool", tool_call_id: "x", is_error: true });
  });

  test("the tool round limit ends the run with an error", async () => {
    const { agent } = agentWith(() => [call(0, `c${Math.random()}`, "echo", '{"word":"again"}'), usage()], { maxToolRounds: 2 });
    const { events } = await collect(agent);
    const terminal = checkRunInvariants(numbered(events));
    expect(terminal).toMatchObject({ type: "error" });
    expect(terminal.data.error).toContain("2 tool rounds");
    expect(events.filter((e) => e.type === "tool_exec").length).toBe(2);
  });

  test("interleaved fragments of parallel calls keep one block open at a time", async () => {
    const { agent } = agentWith((round) =>
      round === 0
        ? [
            call(0, "a", "echo", '{"word":'),
            call(1, "b", "echo", '{"word":'),
            { type: "tool_call", index: 0, args: '"x"}' },
            { type: "tool_call", index: 1, args: '"y"}' },
            usage(),
          ]
        : [text("ok"), usage()],
    );
    const { events } = await collect(agent);
    checkRunInvariants(numbered(events));
    const execs = events.filter((e) => e.type === "tool_exec") as Extract<AgentEvent, { type: "tool_exec" }>[];
    expect(execs.map((e) => e.args)).toEqual([{ word: "x" }, { word: "y" }]);
  });

  test("a ModelError's message reaches the client; any other throw does not", async () => {
    const failing = new BondAgent({
      name: "t",
      model: { name: "m", async *stream() { yield { type: "text", content: "hi" } as ModelChunk; throw new ModelError("Provider said no (429)", 429); } },
    });
    const r1 = await collect(failing);
    expect(checkRunInvariants(numbered(r1.events))).toMatchObject({ type: "error", data: { error: "Provider said no (429)" } });
    const leaky = new BondAgent({
      name: "t",
      model: { name: "m", async *stream() { throw new Error("ECONNREFUSED /secret/path key=sk-123"); } },
    });
    const r2 = await collect(leaky);
    const terminal = checkRunInvariants(numbered(r2.events));
    expect(terminal.type).toBe("error");
    expect(JSON.stringify(terminal)).not.toContain("sk-123");
  });

  test("cancel mid-round: the open block closes, usage counts what streamed, then cancelled", async () => {
    const { agent } = agentWith(() => [text("one "), text("two "), { pause: 5000 }, text("never"), usage()]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new RunStop("cancelled by client")), 50);
    const { events, outcome } = await collect(agent, "go", controller.signal);
    const terminal = checkRunInvariants(numbered(events));
    expect(terminal).toMatchObject({ type: "cancelled", data: { reason: "cancelled by client" } });
    expect(outcome.usage.completion_tokens).toBe(2);
    expect(outcome.messages).toEqual([{ role: "user", content: "go" }]);
  });

  test("a RunStop with outcome error ends the run with error", async () => {
    const { agent } = agentWith(() => [{ pause: 5000 }, usage()]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new RunStop("The run exceeded its time limit.", "error")), 20);
    const { events } = await collect(agent, "go", controller.signal);
    expect(checkRunInvariants(numbered(events))).toMatchObject({ type: "error", data: { error: "The run exceeded its time limit." } });
  });
});
