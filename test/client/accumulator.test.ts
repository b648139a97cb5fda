import { describe, expect, test } from "bun:test";
import type { AgentEvent } from "../../src/agent/events.ts";
import { RunAccumulator, accumulate } from "../../src/client/accumulator.ts";

/** The demo model's shape for "What is 12*7?": thinking, a tool call, the answer. */
const RUN: AgentEvent[] = [
  { type: "block_start", kind: "thinking", idx: 0 },
  { type: "thinking", content: "Let me " },
  { type: "thinking", content: "compute." },
  { type: "block_end", kind: "thinking", idx: 0 },
  { type: "block_start", kind: "tool-call", idx: 1 },
  { type: "tool_delta", name: "calculator", args: "" },
  { type: "tool_delta", name: "", args: '{"expression":' },
  { type: "tool_delta", name: "", args: '"12*7"}' },
  { type: "block_end", kind: "tool-call", idx: 1 },
  { type: "tool_exec", id: "call_1", name: "calculator", args: { expression: "12*7" } },
  { type: "tool_result", id: "call_1", name: "calculator", result: "84", is_error: false },
  { type: "block_start", kind: "text", idx: 2 },
  { type: "text", content: "12*7 is " },
  { type: "text", content: "84." },
  { type: "block_end", kind: "text", idx: 2 },
  { type: "usage", prompt_tokens: 3, completion_tokens: 6, total_tokens: 9, total_cost: null, model: "demo" },
  { type: "complete", data: "12*7 is 84." },
];

describe("RunAccumulator", () => {
  test("folds a whole run", () => {
    expect(accumulate(RUN)).toEqual({
      text: "12*7 is 84.",
      thinking: "Let me compute.",
      toolCalls: [
        { id: "call_1", name: "calculator", args: { expression: "12*7" }, argsText: '{"expression":"12*7"}', result: "84", isError: false, state: "done" },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 6, total_tokens: 9, total_cost: null, model: "demo" },
      status: "completed",
      output: "12*7 is 84.",
    });
  });

  test("intermediate states: a call forms, runs, finishes", () => {
    const acc = new RunAccumulator();
    RUN.slice(0, 8).forEach((e) => acc.push(e));
    expect(acc.state.status).toBe("streaming");
    expect(acc.state.toolCalls).toEqual([{ id: "", name: "calculator", args: undefined, argsText: '{"expression":"12*7"}', state: "forming" }]);
    acc.push(RUN[9]!);
    expect(acc.state.toolCalls[0]?.state).toBe("running");
    expect(acc.state.toolCalls[0]?.id).toBe("call_1");
  });

  test("two calls in one turn: results may arrive out of order", () => {
    const acc = new RunAccumulator();
    const events: AgentEvent[] = [
      { type: "block_start", kind: "tool-call", idx: 0 },
      { type: "tool_delta", name: "a", args: "{}" },
      { type: "block_end", kind: "tool-call", idx: 0 },
      { type: "block_start", kind: "tool-call", idx: 1 },
      { type: "tool_delta", name: "b", args: "{}" },
      { type: "block_end", kind: "tool-call", idx: 1 },
      { type: "tool_exec", id: "1", name: "a", args: {} },
      { type: "tool_exec", id: "2", name: "b", args: {} },
      { type: "tool_result", id: "2", name: "b", result: "B", is_error: true },
      { type: "tool_result", id: "1", name: "a", result: "A", is_error: false },
    ];
    events.forEach((e) => acc.push(e));
    expect(acc.state.toolCalls.map((c) => [c.id, c.name, c.result, c.isError])).toEqual([
      ["1", "a", "A", false],
      ["2", "b", "B", true],
    ]);
  });

  test("error and cancelled end the run; later events are ignored", () => {
    expect(accumulate([{ type: "text", content: "x" }, { type: "error", error: "model down" }, { type: "text", content: "y" }])).toMatchObject({
      text: "x",
      status: "error",
      error: "model down",
    });
    expect(accumulate([{ type: "cancelled", reason: "user" }])).toMatchObject({ status: "cancelled", reason: "user" });
    expect(new RunAccumulator().markCancelled().state).toMatchObject({ status: "cancelled", reason: "aborted" });
    expect(new RunAccumulator().push({ type: "complete", data: "" }).markCancelled().state.status).toBe("completed");
  });

  test("snapshots are fresh objects", () => {
    const acc = new RunAccumulator();
    const before = acc.state;
    acc.push(RUN[4]!);
    expect(before.toolCalls).toEqual([]);
    expect(acc.state).not.toBe(acc.state);
  });

  test("accumulate takes an async iterable", async () => {
    async function* gen(): AsyncGenerator<AgentEvent> {
      yield* RUN;
    }
    expect((await accumulate(gen())).text).toBe("12*7 is 84.");
  });
});
