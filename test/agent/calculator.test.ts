import { describe, expect, test } from "bun:test";
import { CalculatorError, evaluateExpression, formatNumber } from "../../src/agent/calculator.ts";

function errorOf(expr: string): CalculatorError {
  try {
    evaluateExpression(expr);
  } catch (err) {
    if (err instanceof CalculatorError) return err;
    throw new Error(`expected CalculatorError for ${JSON.stringify(expr)}, got ${String(err)}`);
  }
  throw new Error(`expected ${JSON.stringify(expr)} to fail`);
}

describe("evaluateExpression", () => {
  test("numbers", () => {
    expect(evaluateExpression("42")).toBe(42);
    expect(evaluateExpression("3.25")).toBe(3.25);
    expect(evaluateExpression(".5")).toBe(0.5);
    expect(evaluateExpression("1e3")).toBe(1000);
    expect(evaluateExpression("2.5E-2")).toBe(0.025);
    expect(evaluateExpression("  7 \n")).toBe(7);
  });

  test("precedence", () => {
    expect(evaluateExpression("12*7")).toBe(84);
    expect(evaluateExpression("2+3*4")).toBe(14);
    expect(evaluateExpression("(2+3)*4")).toBe(20);
    expect(evaluateExpression("10-4/2")).toBe(8);
    expect(evaluateExpression("2*3^2")).toBe(18);
    expect(evaluateExpression("7%4+1")).toBe(4);
    expect(evaluateExpression("1 + 2 * (3 - 1) ^ 2")).toBe(9);
  });

  test("associativity", () => {
    expect(evaluateExpression("10-4-3")).toBe(3);
    expect(evaluateExpression("64/4/2")).toBe(8);
    expect(evaluateExpression("2^3^2")).toBe(512);
    expect(evaluateExpression("2**3**2")).toBe(512);
    expect(evaluateExpression("(2^3)^2")).toBe(64);
  });

  test("unary signs", () => {
    expect(evaluateExpression("-3")).toBe(-3);
    expect(evaluateExpression("+3")).toBe(3);
    expect(evaluateExpression("--3")).toBe(3);
    expect(evaluateExpression("-2^2")).toBe(-4);
    expect(evaluateExpression("2^-1")).toBe(0.5);
    expect(evaluateExpression("3*-2")).toBe(-6);
    expect(evaluateExpression("-(1+2)")).toBe(-3);
  });

  test("functions and constants", () => {
    expect(evaluateExpression("sqrt(16)")).toBe(4);
    expect(evaluateExpression("abs(-2.5)")).toBe(2.5);
    expect(evaluateExpression("round(2.5)")).toBe(3);
    expect(evaluateExpression("floor(2.7)")).toBe(2);
    expect(evaluateExpression("ceil(2.1)")).toBe(3);
    expect(evaluateExpression("min(3, 1, 2)")).toBe(1);
    expect(evaluateExpression("max(3, 1+9, 2)")).toBe(10);
    expect(evaluateExpression("pi")).toBe(Math.PI);
    expect(evaluateExpression("2*e")).toBe(2 * Math.E);
    expect(evaluateExpression("SQRT(9) + PI - pi")).toBe(3);
  });

  test("unicode operators", () => {
    expect(evaluateExpression("6×7")).toBe(42);
    expect(evaluateExpression("8÷2")).toBe(4);
    expect(evaluateExpression("5−3")).toBe(2);
  });

  test("syntax errors name the token and position", () => {
    expect(errorOf("2+*3").message).toBe("Unexpected '*' at position 2");
    expect(errorOf("2+*3").position).toBe(2);
    expect(errorOf("2+").message).toBe("Unexpected end of expression");
    expect(errorOf("(1+2").message).toBe("Missing ')' for '(' at position 0");
    expect(errorOf("1+2)").message).toBe("Unexpected ')' at position 3");
    expect(errorOf("()").message).toBe("Unexpected ')' at position 1");
    expect(errorOf("2 3").message).toBe("Unexpected '3' at position 2");
    expect(errorOf("1.2.3").message).toBe("Unexpected '.3' at position 3");
    expect(errorOf("1 + 2 ☃").message).toBe("Unexpected '☃' at position 6");
    expect(errorOf("2 & 3").message).toBe("Unexpected '&' at position 2");
    expect(errorOf("2e").message).toBe("Unexpected 'e' at position 1");
    expect(errorOf("sqrt 4").message).toBe("Expected '(' after 'sqrt' at position 5");
    expect(errorOf("sqrt(1, 2)").message).toBe("sqrt expects 1 argument, got 2");
    expect(errorOf("foo(1)").message).toBe("Unknown name 'foo' at position 0");
    expect(errorOf("").message).toBe("Empty expression");
    expect(errorOf("   ").message).toBe("Empty expression");
  });

  test("arithmetic faults", () => {
    expect(errorOf("1/0").message).toBe("Division by zero");
    expect(errorOf("5 % (2-2)").message).toBe("Division by zero");
    expect(errorOf("10^1000").message).toBe("Result is not a finite number");
    expect(errorOf("1e400").message).toBe("Result is not a finite number");
    expect(errorOf("sqrt(-1)").message).toBe("Result is not a finite number");
  });

  test("code is never executed", () => {
    let called = false;
    (globalThis as Record<string, unknown>).__calcProbe = () => {
      called = true;
      return 1;
    };
    try {
      for (const hostile of [
        "process.exit()",
        "__calcProbe()",
        "constructor",
        "toString()",
        "globalThis",
        "(() => 1)()",
        "1; __calcProbe()",
        "`1`",
        "'1'+1",
        "[1]",
      ]) {
        expect(() => evaluateExpression(hostile)).toThrow(CalculatorError);
      }
      expect(errorOf("process.exit()").message).toBe("Unknown name 'process' at position 0");
      expect(called).toBe(false);
    } finally {
      delete (globalThis as Record<string, unknown>).__calcProbe;
    }
  });

  test("input limits", () => {
    expect(evaluateExpression("1+".repeat(499) + "1")).toBe(500);
    expect(errorOf("1".repeat(1001)).message).toContain("too long");
    expect(evaluateExpression("(".repeat(100) + "1" + ")".repeat(100))).toBe(1);
    expect(errorOf("(".repeat(101) + "1" + ")".repeat(101)).message).toContain("nested too deeply");
    expect(errorOf("-".repeat(500) + "1").message).toContain("nested too deeply");
    expect(errorOf("2^".repeat(300) + "1").message).toContain("nested too deeply");
  });
});

describe("formatNumber", () => {
  test("integers have no decimal part", () => {
    expect(formatNumber(84)).toBe("84");
    expect(formatNumber(-3)).toBe("-3");
    expect(formatNumber(-0)).toBe("0");
  });

  test("float noise is rounded away", () => {
    expect(formatNumber(0.1 + 0.2)).toBe("0.3");
    expect(formatNumber(evaluateExpression("0.1+0.2"))).toBe("0.3");
    expect(formatNumber(1 / 3)).toBe("0.333333333333");
    expect(formatNumber(2.5)).toBe("2.5");
    expect(formatNumber(1e21)).toBe("1e+21");
  });
});
