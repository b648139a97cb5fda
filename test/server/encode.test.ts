/** The hand-written JSON string encoder must agree with JSON.stringify on every string. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { jsonString } from "../../src/server/encode.ts";

describe("jsonString", () => {
  test("edge cases: quotes, backslashes, control characters, lone and paired surrogates", () => {
    const samples = ["", "abc", 'q"x', "b\\s", "\n", "\r\n", "\t", "\u0000", "\u001f", "\u007f", "é", "😀", "\ud800", "a\udc00b", "\u2028\u2029", "t1 "];
    for (const s of samples) expect(jsonString(s)).toBe(JSON.stringify(s));
  });

  test("agrees with JSON.stringify on random strings (fixed seed)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => jsonString(s) === JSON.stringify(s)),
      { seed: 4242, numRuns: 5000 },
    );
  });
});
