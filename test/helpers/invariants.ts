import { expect } from "bun:test";
import type { SseEvent } from "./sse.ts";
import type { Frame } from "./ws.ts";

/** One run event, whichever transport carried it. */
export interface RunEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export function fromSse(events: SseEvent[]): RunEvent[] {
  return events.map((e) => ({ id: e.id, type: e.event, data: e.data }));
}

/** WS frames use short keys (API.md §3); map them back to the SSE payload names. */
export function fromWs(frames: Frame[]): RunEvent[] {
  return frames
    .filter((f) => typeof f.i === "string")
    .map((f) => {
      const data: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(f)) {
        if (k === "t" || k === "i") continue;
        const key = k === "c" ? "content" : k === "n" ? "name" : k === "a" ? "args" : k;
        data[key] = v;
      }
      return { id: f.i as string, type: f.t as string, data };
    });
}

const TERMINAL = new Set(["complete", "error", "cancelled"]);
const DELTA_KIND: Record<string, string> = { text: "text", thinking: "thinking", tool_delta: "tool-call" };

/** Checks every ordering rule of API.md §1 on one run's events; returns the terminal event. */
export function checkRunInvariants(events: RunEvent[]): RunEvent {
  expect(events.length).toBeGreaterThan(0);
  const run = events[0]!.id.split(":")[0];
  events.forEach((e, i) => expect(e.id).toBe(`${run}:${i + 1}`));

  const terminals = events.filter((e) => TERMINAL.has(e.type));
  expect(terminals.length).toBe(1);
  const terminal = events[events.length - 1]!;
  expect(TERMINAL.has(terminal.type)).toBe(true);

  const usages = events.filter((e) => e.type === "usage");
  expect(usages.length).toBeGreaterThan(0);
  for (const u of usages) {
    expect(u.data.total_tokens).toBe((u.data.prompt_tokens as number) + (u.data.completion_tokens as number));
  }

  let open: { kind: string; idx: number } | null = null;
  let nextIdx = 0;
  const executed = new Set<string>();
  const resulted = new Set<string>();
  let textSinceTools = "";
  for (const e of events) {
    switch (e.type) {
      case "block_start":
        expect(open).toBeNull();
        expect(e.data.idx).toBe(nextIdx++);
        open = { kind: e.data.kind as string, idx: e.data.idx as number };
        break;
      case "block_end":
        expect(open).not.toBeNull();
        expect(e.data).toEqual({ kind: open!.kind, idx: open!.idx });
        open = null;
        break;
      case "text":
      case "thinking":
      case "tool_delta":
        expect(open?.kind).toBe(DELTA_KIND[e.type]);
        if (e.type === "text") textSinceTools += e.data.content as string;
        break;
      case "tool_exec":
        expect(open).toBeNull();
        executed.add(e.data.id as string);
        textSinceTools = "";
        break;
      case "tool_result":
        expect(executed.has(e.data.id as string)).toBe(true);
        expect(typeof e.data.result).toBe("string");
        expect(typeof e.data.is_error).toBe("boolean");
        resulted.add(e.data.id as string);
        break;
      default:
        break;
    }
  }
  expect(open).toBeNull();
  const lastUsageIndex = events.map((e) => e.type).lastIndexOf("usage");
  expect(lastUsageIndex).toBeLessThan(events.length - 1);
  if (terminal.type === "complete") {
    expect(resulted).toEqual(executed);
    expect(terminal.data.data).toBe(textSinceTools);
  }
  return terminal;
}
