import type { TerminalEvent } from "./events.ts";

/**
 * Why a run was stopped. The runner aborts runs with one of these so the agent
 * can tell a cancellation (`cancelled`) from a limit it hit (`error`).
 */
export class RunStop {
  constructor(
    readonly message: string,
    readonly outcome: "cancelled" | "error" = "cancelled",
  ) {}
}

/** The terminal event for a run whose signal fired with `reason`. */
export function abortedTerminal(reason: unknown): TerminalEvent {
  if (reason instanceof RunStop) {
    return reason.outcome === "error" ? { type: "error", error: reason.message } : { type: "cancelled", reason: reason.message };
  }
  return { type: "cancelled", reason: typeof reason === "string" ? reason : "cancelled" };
}
