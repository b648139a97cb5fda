import type { UsageTotals } from "../agent/events.ts";
import { RunStop } from "../agent/abort.ts";
import { AbortSwitch } from "../agent/abort-switch.ts";
import { RunLog, type RunLogLimits } from "./run-log.ts";

/** What a finished run reports as its signal: it can no longer be cancelled. */
const SETTLED_SIGNAL = new AbortController().signal;

export type RunStatus = "running" | "completed" | "error" | "cancelled";

/**
 * One prompt in one session: its event log, its abort switch, and who is
 * watching it (for the disconnect grace period).
 */
export class Run {
  readonly log: RunLog;
  /** The run's abort switch; dropped once it is over (a finished run stays in its session for replay). */
  private abortSwitch: AbortSwitch | null = new AbortSwitch();

  readonly startedAt = Date.now();
  status: RunStatus = "running";
  usage: UsageTotals | null = null;
  private subscribers = 0;
  private everSubscribed = false;
  private graceTimer: ReturnType<typeof setTimeout> | null = null;
  /** Made only when someone waits for the end (shutdown, the run quota): most runs never need it. */
  private finishedPromise: Promise<void> | null = null;
  private resolveFinished: (() => void) | null = null;

  constructor(
    readonly number: number,
    private readonly graceMs: number,
    limits?: RunLogLimits,
  ) {
    this.log = new RunLog(number, limits);
  }

  /** Resolves when the run has finished and its outcome is applied to the session. */
  get finished(): Promise<void> {
    if (!this.isRunning) return Promise.resolve();
    return (this.finishedPromise ??= new Promise((resolve) => (this.resolveFinished = resolve)));
  }

  /** Aborted when the run is cancelled (the agent, model and tools watch it). */
  get signal(): AbortSignal {
    return this.abortSwitch?.signal ?? SETTLED_SIGNAL;
  }

  get isRunning(): boolean {
    return this.status === "running";
  }

  get hasEverHadSubscriber(): boolean {
    return this.everSubscribed;
  }

  get subscriberCount(): number {
    return this.subscribers;
  }

  subscribe(): void {
    this.subscribers++;
    this.everSubscribed = true;
    if (this.graceTimer) {
      clearTimeout(this.graceTimer);
      this.graceTimer = null;
    }
  }

  /** When the last watcher leaves a running run, it gets a grace period to come back before it is cancelled. */
  unsubscribe(): void {
    this.subscribers = Math.max(0, this.subscribers - 1);
    this.settleIfUnread();
    // A run whose log has ended is only being wrapped up: nothing to cancel, and no timer to set
    // and clear for every run (a reader leaves at the terminal event, just before the run is marked finished).
    if (this.subscribers > 0 || !this.isRunning || this.log.isEnded || this.graceTimer) return;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = null;
      if (this.subscribers === 0) this.cancel(new RunStop("client disconnected"));
    }, this.graceMs);
    this.graceTimer.unref?.();
  }

  /** Settles the log of a finished run that nobody is reading (see RunLog.settle): when its last reader leaves, and at each session sweep. */
  settleIfUnread(): void {
    if (!this.isRunning && this.subscribers === 0) this.log.settle();
  }

  cancel(reason: RunStop): boolean {
    if (!this.isRunning || this.abortSwitch === null || this.abortSwitch.signal.aborted) return false;
    this.abortSwitch.abort(reason);
    return true;
  }

  markFinished(status: Exclude<RunStatus, "running">, usage: UsageTotals): void {
    this.status = status;
    this.usage = usage;
    this.abortSwitch?.release();
    this.abortSwitch = null;
    // A run nobody has read yet is about to be (a fast run can end before its stream connects):
    // its log is settled when that reader leaves, or by the session sweep if none comes.
    if (this.subscribers === 0 && this.everSubscribed) this.log.settle();
    if (this.graceTimer) {
      clearTimeout(this.graceTimer);
      this.graceTimer = null;
    }
    this.resolveFinished?.();
    this.resolveFinished = null;
  }
}
