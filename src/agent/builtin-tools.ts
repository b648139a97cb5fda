/** The tools every Bond agent has unless its owner says otherwise. */

import { Type } from "@sinclair/typebox";
import { evaluateExpression, formatNumber, MAX_EXPRESSION_LENGTH } from "./calculator.ts";
import { defineTool, type AnyTool } from "./tools.ts";

export const calculatorTool = defineTool({
  name: "calculator",
  description:
    "Evaluate an arithmetic expression exactly. Supports + - * / % , ^ or ** (power), parentheses, " +
    "sqrt, abs, round, floor, ceil, min, max and the constants pi and e. " +
    "Use it for any arithmetic instead of working it out yourself.",
  parameters: Type.Object({
    expression: Type.String({
      minLength: 1,
      maxLength: MAX_EXPRESSION_LENGTH,
      description: "The expression, e.g. (12*7)^2 / 3",
    }),
  }),
  // A CalculatorError propagates: the agent reports it as a tool_result with is_error true.
  execute: ({ expression }) => formatNumber(evaluateExpression(expression)),
});

export interface CurrentTime {
  /** The canonical IANA name of the zone used. */
  timezone: string;
  /** The instant in UTC, ISO 8601. */
  iso: string;
  /** A readable wall-clock time in that zone, e.g. "Monday, March 3, 2025 at 4:05:06 PM GMT+1". */
  local: string;
}

/** The current time (or `now`) in an IANA zone; throws "Unknown time zone: X" for a zone Intl rejects. */
export function describeTime(timezone: string, now: Date = new Date()): CurrentTime {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", { timeZone: timezone, dateStyle: "full", timeStyle: "long" });
  } catch (err) {
    if (err instanceof RangeError) throw new Error(`Unknown time zone: ${timezone}`);
    throw err;
  }
  return {
    timezone: format.resolvedOptions().timeZone,
    iso: now.toISOString(),
    // ICU puts a narrow no-break space before AM/PM; a plain space reads the same everywhere.
    local: format.format(now).replace(/\u202f/g, " "),
  };
}

/** Builds a current_time tool; `now` is injectable so tests can pin the clock. */
export function createCurrentTimeTool(now: () => Date = () => new Date()) {
  return defineTool({
    name: "current_time",
    description: "Get the current date and time, in UTC or in a given IANA time zone.",
    parameters: Type.Object({
      timezone: Type.Optional(Type.String({ description: "IANA time zone, e.g. Europe/Paris", maxLength: 64 })),
    }),
    execute: ({ timezone }): CurrentTime => describeTime(timezone?.trim() || "UTC", now()),
  });
}

export const currentTimeTool = createCurrentTimeTool();

export const builtinTools: AnyTool[] = [calculatorTool, currentTimeTool];
