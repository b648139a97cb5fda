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
  readonly usage: UsageTotals = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, total_cost: 0 };

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

  addUsage(run: UsageTotals): void {
    this.usage.prompt_tokens += run.prompt_tokens;
    this.usage.completion_tokens += run.completion_tokens;
    this.usage.total_tokens += run.total_tokens;
    this.usage.total_cost =
      this.usage.total_cost === null || run.total_cost === null ? null : this.usage.total_cost + run.total_cost;
  }
}
