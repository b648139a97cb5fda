/**
 * A small arithmetic evaluator for the `calculator` tool. A hand-written
 * recursive-descent parser: model-supplied text is never handed to eval/Function.
 *
 * Grammar (lowest precedence first):
 *   expr    := term (("+" | "-") term)*
 *   term    := unary (("*" | "/" | "%") unary)*
 *   unary   := ("+" | "-") unary | power
 *   power   := primary (("^" | "**") unary)?     right-associative; -2^2 = -4
 *   primary := number | "(" expr ")" | name | name "(" expr ("," expr)* ")"
 */

export class CalculatorError extends Error {
  override readonly name = "CalculatorError";
  /** 0-based character offset of the fault in the input, when there is one. */
  readonly position: number | undefined;
  constructor(message: string, position?: number) {
    super(message);
    this.position = position;
  }
}

export const MAX_EXPRESSION_LENGTH = 1000;
export const MAX_NESTING_DEPTH = 100;

interface Token {
  /** "invalid": a character no rule accepts; the parser reports it when it gets there, so faults surface left to right. */
  kind: "number" | "name" | "op" | "invalid" | "end";
  /** Normalised text: operators as ASCII ("×" → "*"), names lower-case. */
  text: string;
  /** The text as written, for error messages. */
  raw: string;
  value: number;
  pos: number;
}

interface Fn {
  minArgs: number;
  maxArgs: number;
  apply(args: number[]): number;
}

// A Map, not an object literal: a name like "constructor" must not reach Object.prototype.
const FUNCTIONS = new Map<string, Fn>([
  ["sqrt", { minArgs: 1, maxArgs: 1, apply: (a) => Math.sqrt(a[0]!) }],
  ["abs", { minArgs: 1, maxArgs: 1, apply: (a) => Math.abs(a[0]!) }],
  ["round", { minArgs: 1, maxArgs: 1, apply: (a) => Math.round(a[0]!) }],
  ["floor", { minArgs: 1, maxArgs: 1, apply: (a) => Math.floor(a[0]!) }],
  ["ceil", { minArgs: 1, maxArgs: 1, apply: (a) => Math.ceil(a[0]!) }],
  ["min", { minArgs: 1, maxArgs: Infinity, apply: (a) => Math.min(...a) }],
  ["max", { minArgs: 1, maxArgs: Infinity, apply: (a) => Math.max(...a) }],
]);

const CONSTANTS = new Map<string, number>([
  ["pi", Math.PI],
  ["e", Math.E],
]);

/** Unicode operators people (and models) paste, mapped to their ASCII form. */
const OPERATOR_ALIASES = new Map<string, string>([
  ["×", "*"],
  ["÷", "/"],
  ["−", "-"],
]);

const SINGLE_OPERATORS = "+-*/%^(),";

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

function isNameStart(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_";
}

function describe(token: Token): string {
  return token.kind === "end" ? "end of expression" : `'${token.raw}' at position ${token.pos}`;
}

function unexpected(token: Token): CalculatorError {
  return new CalculatorError(`Unexpected ${describe(token)}`, token.pos);
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    const start = i;
    if (isDigit(c) || (c === "." && isDigit(input[i + 1] ?? ""))) {
      while (isDigit(input[i] ?? "")) i++;
      if (input[i] === ".") {
        i++;
        while (isDigit(input[i] ?? "")) i++;
      }
      // An exponent only when digits follow, so "2e" stays "2" then the name "e" (an error).
      if (input[i] === "e" || input[i] === "E") {
        let j = i + 1;
        if (input[j] === "+" || input[j] === "-") j++;
        if (isDigit(input[j] ?? "")) {
          i = j;
          while (isDigit(input[i] ?? "")) i++;
        }
      }
      const raw = input.slice(start, i);
      tokens.push({ kind: "number", text: raw, raw, value: Number(raw), pos: start });
      continue;
    }
    if (isNameStart(c)) {
      while (i < input.length && (isNameStart(input[i]!) || isDigit(input[i]!))) i++;
      const raw = input.slice(start, i);
      tokens.push({ kind: "name", text: raw.toLowerCase(), raw, value: 0, pos: start });
      continue;
    }
    if (c === "*" && input[i + 1] === "*") {
      tokens.push({ kind: "op", text: "^", raw: "**", value: 0, pos: start });
      i += 2;
      continue;
    }
    const alias = OPERATOR_ALIASES.get(c);
    if (alias !== undefined || SINGLE_OPERATORS.includes(c)) {
      tokens.push({ kind: "op", text: alias ?? c, raw: c, value: 0, pos: start });
      i++;
      continue;
    }
    // A whole code point, not half a surrogate pair.
    const raw = String.fromCodePoint(input.codePointAt(i) ?? 0);
    tokens.push({ kind: "invalid", text: raw, raw, value: 0, pos: start });
    i += raw.length;
  }
  tokens.push({ kind: "end", text: "", raw: "", value: 0, pos: input.length });
  return tokens;
}

function finite(value: number): number {
  if (!Number.isFinite(value)) throw new CalculatorError("Result is not a finite number");
  return value;
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): number {
    const value = this.expression();
    const rest = this.peek();
    if (rest.kind !== "end") throw unexpected(rest);
    return value;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.kind !== "end") this.index++;
    return token;
  }

  private isOp(text: string): boolean {
    const token = this.peek();
    return token.kind === "op" && token.text === text;
  }

  /** Bounds recursion so a hostile input cannot blow the stack. */
  private enter(): void {
    if (++this.depth > MAX_NESTING_DEPTH) {
      throw new CalculatorError(`Expression is nested too deeply (more than ${MAX_NESTING_DEPTH} levels)`);
    }
  }

  private leave(): void {
    this.depth--;
  }

  private expression(): number {
    let value = this.term();
    while (this.isOp("+") || this.isOp("-")) {
      const op = this.next().text;
      const rhs = this.term();
      value = finite(op === "+" ? value + rhs : value - rhs);
    }
    return value;
  }

  private term(): number {
    let value = this.unary();
    while (this.isOp("*") || this.isOp("/") || this.isOp("%")) {
      const op = this.next().text;
      const rhs = this.unary();
      if (op === "*") {
        value = finite(value * rhs);
      } else {
        if (rhs === 0) throw new CalculatorError("Division by zero");
        value = finite(op === "/" ? value / rhs : value % rhs);
      }
    }
    return value;
  }

  private unary(): number {
    if (this.isOp("+") || this.isOp("-")) {
      const op = this.next().text;
      this.enter();
      const value = this.unary();
      this.leave();
      return op === "-" ? -value : value;
    }
    return this.power();
  }

  private power(): number {
    const base = this.primary();
    if (!this.isOp("^")) return base;
    this.next();
    this.enter();
    // The exponent is a unary so that 2^-1 works and 2^3^2 groups to the right.
    const exponent = this.unary();
    this.leave();
    return finite(base ** exponent);
  }

  private primary(): number {
    const token = this.next();
    if (token.kind === "number") return finite(token.value);
    if (token.kind === "op" && token.text === "(") {
      this.enter();
      const value = this.expression();
      this.expectClose(token);
      this.leave();
      return value;
    }
    if (token.kind === "name") return this.name(token);
    throw unexpected(token);
  }

  private name(token: Token): number {
    const fn = FUNCTIONS.get(token.text);
    if (fn) {
      const open = this.next();
      if (open.kind !== "op" || open.text !== "(") {
        throw new CalculatorError(`Expected '(' after '${token.raw}' at position ${open.pos}`, open.pos);
      }
      this.enter();
      const args = [this.expression()];
      while (this.isOp(",")) {
        this.next();
        args.push(this.expression());
      }
      this.expectClose(open);
      this.leave();
      if (args.length < fn.minArgs || args.length > fn.maxArgs) {
        const wanted = fn.maxArgs === Infinity ? `at least ${fn.minArgs}` : `${fn.minArgs}`;
        throw new CalculatorError(
          `${token.text} expects ${wanted} argument${fn.minArgs === 1 && fn.maxArgs === 1 ? "" : "s"}, got ${args.length}`,
          token.pos,
        );
      }
      return finite(fn.apply(args));
    }
    const constant = CONSTANTS.get(token.text);
    if (constant !== undefined) return constant;
    throw new CalculatorError(`Unknown name '${token.raw}' at position ${token.pos}`, token.pos);
  }

  private expectClose(open: Token): void {
    const token = this.peek();
    if (token.kind === "op" && token.text === ")") {
      this.next();
      return;
    }
    if (token.kind === "end") {
      throw new CalculatorError(`Missing ')' for '(' at position ${open.pos}`, open.pos);
    }
    throw unexpected(token);
  }
}

/** Evaluates an arithmetic expression; throws CalculatorError with a message fit for a user. */
export function evaluateExpression(expr: string): number {
  if (expr.length > MAX_EXPRESSION_LENGTH) {
    throw new CalculatorError(`Expression is too long (more than ${MAX_EXPRESSION_LENGTH} characters)`);
  }
  if (expr.trim() === "") throw new CalculatorError("Empty expression");
  return new Parser(tokenize(expr)).parse();
}

/** 84 not 84.0, and 0.1+0.2 as 0.3: rounds away float noise beyond 12 significant digits. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const rounded = Number(n.toPrecision(12));
  return rounded === 0 ? "0" : String(rounded);
}
