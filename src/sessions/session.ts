import type { UsageTotals } from "../agent/events.ts";
import type { Message } from "../agent/messages.ts";
import type { Run } from "./run.ts";

export type SessionStatus = "pending" | "streaming" | "completed" | "error" | "cancelled";

export const SESSION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Where a session lives in its store: each owner (API key) has its own namespace, so
 * another key can neither reach a session nor learn that it exists. Without auth: the id.
 */
export function sessionKey(id: string, owner: string | null): string {
  return owner === null ? id : `${owner}/${id}`; // "/" never occurs in an id
}

/** A conversation: its history, its latest run, what it has spent. */
export class Session {
  readonly createdAt = Date.now();
  updatedAt = this.createdAt;
  readonly history: Message[] = [];
  /** Runs started in this session; the latest one's log is kept for replay and resume. */
  runCount = 0;
  latestRun: Run | null = null;
  /** What its runs spent, as plain fields: a session lives for its timeout (an hour by default), and every object it keeps costs each full garbage collection. */
  private promptTokens = 0;
  private completionTokens = 0;
  private cost: number | null = 0;

  /** Its store key: see sessionKey. */
  readonly key: string;

  /** `owner`: the id of the API key that created it (null without auth). */
  constructor(
    readonly id: string,
    readonly owner: string | null = null,
  ) {
    this.key = sessionKey(id, owner);
  }

  get isRunning(): boolean {
    return this.latestRun?.isRunning ?? false;
  }

  get status(): SessionStatus {
    const run = this.latestRun;
    if (!run) return "pending";
    if (run.isRunning) return run.hasEverHadSubscriber ? "streaming" : "pending";
    return run.status === "running" ? "streaming" : run.status;
  }

  /** Sliding expiry: counts from the last request or the end of the last run. */
  touch(now = Date.now()): void {
    this.updatedAt = now;
  }

  expiresAt(timeoutMs: number): number {
    return this.updatedAt + timeoutMs;
  }

  /** Totals over its runs; the cost is null once any run's cost is unknown. */
  get usage(): UsageTotals {
    return {
      prompt_tokens: this.promptTokens,
      completion_tokens: this.completionTokens,
      total_tokens: this.promptTokens + this.completionTokens,
      total_cost: this.cost,
    };
  }

  addUsage(run: UsageTotals): void {
    this.promptTokens += run.prompt_tokens;
    this.completionTokens += run.completion_tokens;
    this.cost = this.cost === null || run.total_cost === null ? null : this.cost + run.total_cost;
  }
}
