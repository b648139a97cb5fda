import type { BondAgent } from "../agent/agent.ts";
import { RunStop } from "../agent/abort.ts";
import { Run } from "./run.ts";
import type { RunLogLimits } from "./run-log.ts";
import { Session, sessionKey } from "./session.ts";
import type { SessionObserver } from "./observer.ts";
import type { SessionStore } from "./store.ts";
import { pumpRun, type RunEndListener } from "./runner.ts";

export interface SessionManagerOptions {
  timeoutMs: number;
  maxSessions: number;
  disconnectGraceMs: number;
  runTimeoutMs: number;
  /** Bounds of each run's event log (unbounded when absent). */
  runLog?: RunLogLimits;
  /** Told of session and run lifecycle (metrics, logs). */
  observer?: SessionObserver;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export type StartResult = { ok: true; run: Run } | { ok: false; reason: "busy" };

/** Sessions and their runs: creation within limits, sliding expiry, starting and cancelling runs. */
export class SessionManager implements RunEndListener {
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  private readonly running = new Set<Run>();
  /** Run → when its time limit ends (performance.now()). Insertion order is start order, hence deadline order: every run has the same limit. */
  private readonly deadlines = new Map<Run, number>();
  /**
   * One timer for every run's time limit, armed for the earliest: a run holds no timer of its own.
   * Timers are GC roots: one per idle run made each full collection with 5 000 open streams ~1.5× as long.
   */
  private deadlineTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly store: SessionStore,
    private readonly agent: BondAgent,
    private readonly options: SessionManagerOptions,
  ) {
    // Sweep often enough that a session outlives its timeout by at most ~half of it (capped at 30 s).
    const every = Math.min(30_000, Math.max(50, options.timeoutMs / 2));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref?.();
  }

  get size(): number {
    return this.store.size;
  }

  get runningRuns(): ReadonlySet<Run> {
    return this.running;
  }

  /**
   * A live session of `owner` (null: no auth), or undefined when unknown, expired (dropped now)
   * or another owner's: each owner sees only its own sessions.
   */
  get(id: string, owner: string | null = null): Session | undefined {
    const key = sessionKey(id, owner);
    const session = this.store.get(key);
    if (!session) return undefined;
    if (this.isExpired(session, Date.now())) {
      this.store.delete(key);
      this.options.observer?.sessionExpired(session);
      return undefined;
    }
    return session;
  }

  /** A new session of `owner`, or null when the live-session limit is reached. */
  create(id: string = crypto.randomUUID(), owner: string | null = null): Session | null {
    if (this.store.size >= this.options.maxSessions) {
      this.sweep();
      if (this.store.size >= this.options.maxSessions) return null;
    }
    const session = new Session(id, owner);
    this.store.set(session);
    this.options.observer?.sessionCreated(session);
    return session;
  }

  start(session: Session, prompt: string): StartResult {
    if (session.isRunning) return { ok: false, reason: "busy" };
    const run = new Run(++session.runCount, this.options.disconnectGraceMs, this.options.runLog);
    session.latestRun = run;
    session.touch();
    this.running.add(run);
    this.options.observer?.runStarted(session, run);
    this.deadlines.set(run, performance.now() + this.options.runTimeoutMs);
    this.armDeadline();
    void pumpRun(this.agent, session, run, prompt, this);
    return { ok: true, run };
  }

  /** A run started here is over (pumpRun tells, whatever way it ended). */
  runEnded(session: Session, run: Run): void {
    this.running.delete(run);
    this.deadlines.delete(run);
    this.options.observer?.runFinished(session, run, Date.now() - run.startedAt);
    session.touch();
  }

  /** Cancels the session's running run; false when none is running. */
  cancel(session: Session, reason: RunStop): boolean {
    return session.latestRun?.cancel(reason) ?? false;
  }

  delete(id: string, owner: string | null = null): boolean {
    const key = sessionKey(id, owner);
    const session = this.store.get(key);
    if (!session) return false;
    session.latestRun?.cancel(new RunStop("session deleted"));
    const deleted = this.store.delete(key);
    if (deleted) this.options.observer?.sessionDeleted(session);
    return deleted;
  }

  sweep(now = Date.now()): number {
    let removed = 0;
    for (const session of this.store.values()) {
      if (this.isExpired(session, now)) {
        this.store.delete(session.key);
        this.options.observer?.sessionExpired(session);
        removed++;
      } else session.latestRun?.settleIfUnread(); // a run that ended before anyone read it
    }
    return removed;
  }

  close(): void {
    clearInterval(this.sweepTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
  }

  private armDeadline(): void {
    if (this.deadlineTimer) return;
    const first = this.deadlines.values().next();
    if (first.done) return;
    // setTimeout fires at once past 2^31-1 ms: wake by then and look again.
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, first.value - performance.now()));
    this.deadlineTimer = setTimeout(() => this.expireRuns(), wait);
    this.deadlineTimer.unref?.();
  }

  /** Cancels the runs past their limit (the oldest first), then waits for the next. */
  private expireRuns(): void {
    this.deadlineTimer = null;
    const now = performance.now();
    for (const [run, due] of this.deadlines) {
      if (due > now) break;
      this.deadlines.delete(run);
      run.cancel(new RunStop(`The run exceeded its time limit of ${this.options.runTimeoutMs / 1000} s.`, "error"));
    }
    this.armDeadline();
  }

  private isExpired(session: Session, now: number): boolean {
    return !session.isRunning && session.expiresAt(this.options.timeoutMs) <= now;
  }
}
