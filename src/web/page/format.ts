/** How numbers, arguments and states read on the page. Pure functions. */
import type { RunStatus, Usage } from "../../client/index.ts";

/** A run's status as shown, plus "failed" for what went wrong on this side (refused, connection lost). */
export type TurnStatus = RunStatus | "failed";

const STATUS_LABELS: Readonly<Record<TurnStatus, string>> = {
  streaming: "Answering…",
  completed: "Completed",
  error: "Error",
  cancelled: "Cancelled",
  failed: "Failed",
};

export function statusLabel(status: TurnStatus): string {
  return STATUS_LABELS[status];
}

const integer = new Intl.NumberFormat("en-US");

/** Cost in US dollars; small amounts keep enough digits to be non-zero. */
export function formatCost(cost: number | null): string {
  if (cost === null) return "cost unknown";
  if (cost === 0) return "$0";
  const digits = cost >= 0.01 ? 2 : Math.min(8, 1 - Math.floor(Math.log10(cost)) + 1);
  return `$${cost.toFixed(digits)}`;
}

/** "12 in · 20 out · 32 tokens · $0 · demo". */
export function formatUsage(usage: Usage | null): string {
  if (!usage) return "No token use reported yet";
  return [
    `${integer.format(usage.prompt_tokens)} in`,
    `${integer.format(usage.completion_tokens)} out`,
    `${integer.format(usage.total_tokens)} tokens`,
    formatCost(usage.total_cost),
    usage.model,
  ].join(" · ");
}

/** Tool arguments as indented JSON once parsed; before that, the text the model has streamed so far. */
export function formatArgs(args: unknown, argsText: string): string {
  if (args === undefined) return argsText;
  try {
    return JSON.stringify(args, null, 2) ?? String(args);
  } catch {
    return argsText;
  }
}
