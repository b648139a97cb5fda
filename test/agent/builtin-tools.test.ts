import { describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { CalculatorError } from "../../src/agent/calculator.ts";
import {
  builtinTools,
  calculatorTool,
  createCurrentTimeTool,
  currentTimeTool,
  describeTime,
  type CurrentTime,
} from "../../src/agent/builtin-tools.ts";
import type { ToolContext } from "../../src/agent/tools.ts";

const ctx: ToolContext = { signal: new AbortController().signal, sessionId: "test" };
const fixed = new Date("2025-03-03T15:04:05.000Z");

describe("calculatorTool", () => {
  test("returns the formatted result", async () => {
    expect(await calculatorTool.execute({ expression: "12*7" }, ctx)).toBe("84");
    expect(await calculatorTool.execute({ expression: "0.1+0.2" }, ctx)).toBe("0.3");
  });

  test("throws on a bad expression", () => {
    expect(() => calculatorTool.execute({ expression: "2+*3" }, ctx)).toThrow(CalculatorError);
    expect(() => calculatorTool.execute({ expression: "2+*3" }, ctx)).toThrow("Unexpected '*' at position 2");
  });

  test("schema accepts an expression and rejects the rest", () => {
    const schema = calculatorTool.parameters;
    expect(Value.Check(schema, { expression: "1+1" })).toBe(true);
    expect(Value.Check(schema, { expression: "" })).toBe(false);
    expect(Value.Check(schema, { expression: "1".repeat(1001) })).toBe(false);
    expect(Value.Check(schema, {})).toBe(false);
    expect(Value.Check(schema, { expression: 3 })).toBe(false);
  });
});

describe("currentTimeTool", () => {
  test("defaults to UTC", async () => {
    const tool = createCurrentTimeTool(() => fixed);
    const result = await tool.execute({}, ctx);
    expect(result).toEqual({ timezone: "UTC", iso: "2025-03-03T15:04:05.000Z", local: "Monday, March 3, 2025 at 3:04:05 PM UTC" });
  });

  test("uses the given zone", async () => {
    const tool = createCurrentTimeTool(() => fixed);
    const result = (await tool.execute({ timezone: "Europe/Paris" }, ctx)) as CurrentTime;
    expect(result.timezone).toBe("Europe/Paris");
    expect(result.iso).toBe("2025-03-03T15:04:05.000Z");
    expect(result.local).toContain("4:04:05 PM");
    // Zone names are matched case-insensitively and reported canonically.
    expect(describeTime("asia/tokyo", fixed).timezone).toBe("Asia/Tokyo");
  });

  test("an empty zone means UTC", async () => {
    const tool = createCurrentTimeTool(() => fixed);
    expect(((await tool.execute({ timezone: "  " }, ctx)) as CurrentTime).timezone).toBe("UTC");
  });

  test("rejects an unknown zone with a clear message", () => {
    expect(() => currentTimeTool.execute({ timezone: "Mars/Olympus" }, ctx)).toThrow("Unknown time zone: Mars/Olympus");
  });

  test("the default tool uses the real clock", async () => {
    const before = Date.now();
    const result = (await currentTimeTool.execute({}, ctx)) as CurrentTime;
    const t = Date.parse(result.iso);
    expect(t).toBeGreaterThanOrEqual(before - 1000);
    expect(t).toBeLessThanOrEqual(Date.now() + 1000);
  });

  test("schema", () => {
    const schema = currentTimeTool.parameters;
    expect(Value.Check(schema, {})).toBe(true);
    expect(Value.Check(schema, { timezone: "UTC" })).toBe(true);
    expect(Value.Check(schema, { timezone: "x".repeat(65) })).toBe(false);
  });
});

test("builtinTools lists both, with unique names", () => {
  expect(builtinTools.map((t) => t.name)).toEqual(["calculator", "current_time"]);
  for (const tool of builtinTools) expect(tool.description.length).toBeGreaterThan(10);
});
