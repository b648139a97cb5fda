import { describe, expect, test } from "bun:test";
import type { AgentEvent } from "../../src/agent/events.ts";
import { RunLog } from "../../src/sessions/run-log.ts";

const usage: AgentEvent = { type: "usage", prompt_tokens: 1, completion_tokens: 2, total_tokens: 3, total_cost: null, model: "m" };

function logOf(events: AgentEvent[]): RunLog {
  const log = new RunLog(1);
  for (const e of events) expect(log.append(e)).toBe(true);
  return log;
}

function entries(log: RunLog) {
  return Array.from({ length: log.length }, (_, i) => log.entryAt(i));
}

describe("a finished log packs its deltas and reads back the same events", () => {
  test("one text block whose deltas spell the answer", () => {
    const log = logOf([
      { type: "block_start", kind: "text", idx: 0 },
      { type: "text", content: "Hello" },
      { type: "text", content: ", wörld 🌊" },
      { type: "text", content: "!" },
      { type: "block_end", kind: "text", idx: 0 },
      usage,
      { type: "complete", data: "Hello, wörld 🌊!" },
    ]);
    const before = entries(log);
    expect(before[1]).toBe("Hello");
    log.settle();
    expect(entries(log)).toEqual(before);
    log.settle(); // twice is harmless
    expect(entries(log)).toEqual(before);
  });

  test("thinking, several text blocks, tool events, an empty delta and a cancelled end", () => {
    const events: AgentEvent[] = [
      { type: "block_start", kind: "thinking", idx: 0 },
      { type: "thinking", content: "let me " },
      { type: "thinking", content: "see" },
      { type: "block_end", kind: "thinking", idx: 0 },
      { type: "block_start", kind: "text", idx: 1 },
      { type: "text", content: "Calling" },
      { type: "text", content: "" },
      { type: "block_end", kind: "text", idx: 1 },
      { type: "block_start", kind: "tool-call", idx: 2 },
      { type: "tool_delta", name: "calc", args: '{"e":"1+1"}' },
      { type: "block_end", kind: "tool-call", idx: 2 },
      usage,
      { type: "tool_exec", id: "c1", name: "calc", args: { e: "1+1" } },
      { type: "tool_result", id: "c1", name: "calc", result: "2", is_error: false },
      { type: "block_start", kind: "text", idx: 3 },
      { type: "text", content: "It is " },
      { type: "text", content: "2" },
      { type: "block_end", kind: "text", idx: 3 },
      usage,
      { type: "cancelled", reason: "cancelled by client" },
    ];
    const log = logOf(events);
    const before = entries(log);
    log.settle();
    const after = entries(log);
    expect(after).toEqual(before);
    // Text deltas read back as bare strings, thinking deltas as their events.
    expect(after[1]).toEqual({ type: "thinking", content: "let me " });
    expect(after[15]).toBe("It is ");
    expect(after[6]).toBe("");
  });

  test("a log still running is not packed", () => {
    const log = logOf([{ type: "block_start", kind: "text", idx: 0 }, { type: "text", content: "a" }]);
    log.settle();
    expect(log.append({ type: "text", content: "b" })).toBe(true);
    expect(entries(log)).toEqual([{ type: "block_start", kind: "text", idx: 0 }, "a", "b"]);
  });
});
