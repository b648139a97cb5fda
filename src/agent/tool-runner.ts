import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import type { TSchema } from "@sinclair/typebox";
import type { ToolCall } from "./messages.ts";
import type { AnyTool, ToolContext } from "./tools.ts";

/** A call checked and ready to run; `error` set when it must not run. */
export interface PreparedCall {
  call: ToolCall;
  tool: AnyTool | undefined;
  /** Parsed arguments, or the raw text when it did not parse (shown in `tool_exec`). */
  args: unknown;
  error: string | null;
}

export interface ToolOutcome {
  id: string;
  name: string;
  result: string;
  isError: boolean;
}

interface CompiledTool {
  tool: AnyTool;
  /** Compiled on the tool's first call, not at start-up: compiling every schema costs ~2 ms of every start. */
  check: TypeCheck<TSchema> | null;
}

const MAX_ERROR_DETAILS = 3;

/** Validates tool arguments against their schemas and runs calls concurrently with a timeout. */
export class ToolRunner {
  private readonly byName = new Map<string, CompiledTool>();

  constructor(tools: readonly AnyTool[], private readonly timeoutMs: number) {
    for (const tool of tools) this.byName.set(tool.name, { tool, check: null });
  }

  prepare(call: ToolCall): PreparedCall {
    const compiled = this.byName.get(call.name);
    let args: unknown;
    try {
      args = call.arguments.trim() === "" ? {} : JSON.parse(call.arguments);
    } catch {
      return { call, tool: compiled?.tool, args: call.arguments, error: `Invalid JSON in the arguments of ${call.name || "a tool call"}.` };
    }
    if (!compiled) return { call, tool: undefined, args, error: `Unknown tool: ${call.name || "(no name)"}.` };
    const check = (compiled.check ??= TypeCompiler.Compile(compiled.tool.parameters));
    if (!check.Check(args)) {
      const details = [...check.Errors(args)]
        .slice(0, MAX_ERROR_DETAILS)
        .map((e) => `${e.path || "/"}: ${e.message}`)
        .join("; ");
      return { call, tool: compiled.tool, args, error: `Invalid arguments for ${call.name}: ${details}` };
    }
    return { call, tool: compiled.tool, args, error: null };
  }

  /** Runs every call at once; yields outcomes as they finish. Never throws for a tool's fault. */
  async *runAll(calls: readonly PreparedCall[], ctx: ToolContext): AsyncGenerator<ToolOutcome> {
    const pending = new Map<number, Promise<[number, ToolOutcome]>>();
    calls.forEach((p, i) => pending.set(i, this.runOne(p, ctx).then((o) => [i, o] as [number, ToolOutcome])));
    const aborted = abortPromise(ctx.signal);
    while (pending.size > 0) {
      const winner = await Promise.race([...pending.values(), aborted.promise]);
      if (!winner) break; // the run was aborted: stop waiting for tools
      pending.delete(winner[0]);
      yield winner[1];
    }
    aborted.dispose();
  }

  private async runOne(p: PreparedCall, ctx: ToolContext): Promise<ToolOutcome> {
    const { id, name } = p.call;
    if (p.error !== null || !p.tool) return { id, name, result: p.error ?? "Unknown tool.", isError: true };
    const timeout = new AbortController();
    const signal = AbortSignal.any([ctx.signal, timeout.signal]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<ToolOutcome>((resolve) => {
      timer = setTimeout(() => {
        timeout.abort();
        resolve({ id, name, result: `Tool ${name} timed out after ${this.timeoutMs / 1000} s.`, isError: true });
      }, this.timeoutMs);
    });
    try {
      const run = Promise.resolve(p.tool.execute(p.args, { ...ctx, signal })).then(
        (value): ToolOutcome => ({ id, name, result: encodeResult(value), isError: false }),
      );
      return await Promise.race([run, timedOut]);
    } catch (err) {
      return { id, name, result: toolErrorMessage(err), isError: true };
    } finally {
      clearTimeout(timer);
    }
  }
}

function encodeResult(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  return JSON.stringify(value) ?? String(value);
}

/** A tool's own error message is meant for the model; keep it short and single-line. */
function toolErrorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : typeof err === "string" ? err : "Tool failed.";
  return (text || "Tool failed.").slice(0, 2000);
}

function abortPromise(signal: AbortSignal): { promise: Promise<null>; dispose(): void } {
  let onAbort = (): void => {};
  const promise = new Promise<null>((resolve) => {
    onAbort = () => resolve(null);
    if (signal.aborted) resolve(null);
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener("abort", onAbort) };
}
