import { describe, expect, test } from "bun:test";
import type { AgentEvent } from "../../src/agent/events.ts";
import { decodeSseMessage, decodeWsFrame, toAgentEvent } from "../../src/client/decode.ts";
import { BondError } from "../../src/client/errors.ts";

/** One event of each kind, with its SSE payload and its WS frame as API.md §1 and §3 write them. */
const CASES: Array<{ event: AgentEvent; sse: string; ws: string }> = [
  { event: { type: "block_start", kind: "thinking", idx: 0 }, sse: '{"kind":"thinking","idx":0}', ws: '{"t":"block_start","kind":"thinking","idx":0,"i":"1:1"}' },
  { event: { type: "thinking", content: "hm" }, sse: '{"content":"hm"}', ws: '{"t":"thinking","c":"hm","i":"1:2"}' },
  { event: { type: "text", content: "Hé 日本" }, sse: '{"content":"Hé 日本"}', ws: '{"t":"text","c":"Hé 日本","i":"1:3"}' },
  { event: { type: "tool_delta", name: "calc", args: '{"e' }, sse: '{"name":"calc","args":"{\\"e"}', ws: '{"t":"tool_delta","n":"calc","a":"{\\"e","i":"1:4"}' },
  { event: { type: "tool_exec", id: "c1", name: "calculator", args: { expression: "12*7" } }, sse: '{"id":"c1","name":"calculator","args":{"expression":"12*7"}}', ws: '{"t":"tool_exec","id":"c1","name":"calculator","args":{"expression":"12*7"},"i":"1:5"}' },
  { event: { type: "tool_result", id: "c1", name: "calculator", result: "84", is_error: false }, sse: '{"id":"c1","name":"calculator","result":"84","is_error":false}', ws: '{"t":"tool_result","id":"c1","name":"calculator","result":"84","is_error":false,"i":"1:6"}' },
  { event: { type: "block_end", kind: "tool-call", idx: 2 }, sse: '{"kind":"tool-call","idx":2}', ws: '{"t":"block_end","kind":"tool-call","idx":2,"i":"1:7"}' },
  { event: { type: "usage", prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, total_cost: null, model: "demo" }, sse: '{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"total_cost":null,"model":"demo"}', ws: '{"t":"usage","prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"total_cost":null,"model":"demo","i":"1:8"}' },
  { event: { type: "complete", data: "84" }, sse: '{"data":"84"}', ws: '{"t":"complete","data":"84","i":"1:9"}' },
  { event: { type: "error", error: "boom" }, sse: '{"error":"boom"}', ws: '{"t":"error","error":"boom","i":"1:9"}' },
  { event: { type: "cancelled", reason: "user" }, sse: '{"reason":"user"}', ws: '{"t":"cancelled","reason":"user","i":"1:9"}' },
];

describe("decode", () => {
  test("SSE frames and WS frames decode to the same AgentEvent", () => {
    for (const c of CASES) {
      const sse = decodeSseMessage({ event: c.event.type, data: c.sse, id: "1:1" });
      expect(sse?.event).toEqual(c.event);
      const ws = decodeWsFrame(c.ws);
      expect(ws.kind).toBe("event");
      if (ws.kind === "event") expect(ws.event).toEqual(c.event);
    }
  });

  test("WS control frames", () => {
    expect(decodeWsFrame('{"t":"session","session_id":"s1"}')).toEqual({ kind: "session", sessionId: "s1" });
    expect(decodeWsFrame('{"t":"done"}')).toEqual({ kind: "done" });
    expect(decodeWsFrame('{"t":"pong"}')).toEqual({ kind: "pong" });
    // a refusal is an "error" without "i", unlike the run's error event
    expect(decodeWsFrame('{"t":"error","error":"busy","code":"busy"}')).toEqual({ kind: "refusal", error: "busy", code: "busy" });
    expect(decodeWsFrame('{"t":"error","error":"boom","i":"2:4"}')).toEqual({ kind: "event", id: "2:4", event: { type: "error", error: "boom" } });
  });

  test("unknown event names are skipped but keep their id", () => {
    expect(decodeWsFrame('{"t":"future_thing","x":1,"i":"1:3"}')).toEqual({ kind: "event", id: "1:3", event: null });
    expect(decodeSseMessage({ event: "future_thing", data: "{}", id: "1:3" })).toEqual({ id: "1:3", event: null });
    expect(decodeWsFrame('{"t":"future_control"}')).toEqual({ kind: "other" });
  });

  test("malformed known events are protocol errors", () => {
    const bad = [
      () => decodeWsFrame("not json"),
      () => decodeWsFrame('{"c":"no t"}'),
      () => decodeWsFrame('{"t":"text","c":5,"i":"1:1"}'),
      () => decodeSseMessage({ event: "block_start", data: '{"kind":"table","idx":0}', id: "1:1" }),
      () => decodeSseMessage({ event: "text", data: "{broken", id: "1:1" }),
      () => toAgentEvent("usage", { prompt_tokens: "3" }),
    ];
    for (const f of bad) {
      expect(f).toThrow(BondError);
      try {
        f();
      } catch (error) {
        expect((error as BondError).code).toBe("protocol");
      }
    }
  });

  test("a tool result that is not a string is JSON-encoded", () => {
    expect(toAgentEvent("tool_result", { id: "a", name: "b", result: { x: 1 }, is_error: false })).toEqual({
      type: "tool_result",
      id: "a",
      name: "b",
      result: '{"x":1}',
      is_error: false,
    });
  });
});
