import type { BondAgent } from "../agent/agent.ts";
import { RunStop } from "../agent/abort.ts";
import { Run } from "./run.ts";
import type { RunLogLimits } from "./run-log.ts";
import { Session, sessionKey } from "./session.ts";
import type { SessionObserver } from "./observer.ts";
import type { SessionStore } from "./store.ts";
import { pumpRun } from "./runner.ts";

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

export type StartResult = { ok: true; run: Run } | { ok: false; reason: "busy" };

/** Sessions and their runs: creation within limits, sliding expiry, starting and cancelling runs. */
export class SessionManager {
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  private readonly running = new Set<Run>();

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
    const timeout = setTimeout(
      () => run.cancel(new RunStop(`The run exceeded its time limit of ${this.options.runTimeoutMs / 1000} s.`, "error")),
      this.options.runTimeoutMs,
    );
    timeout.unref?.();
    void pumpRun(this.agent, session, run, prompt).finally(() => {
      clearTimeout(timeout);
      this.running.delete(run);
      this.options.observer?.runFinished(session, run, Date.now() - run.startedAt);
      session.touch();
    });
    return { ok: true, run };
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
      }
    }
    return removed;
  }

  close(): void {
    clearInterval(this.sweepTimer);
  }

  private isExpired(session: Session, now: number): boolean {
    return !session.isRunning && session.expiresAt(this.options.timeoutMs) <= now;
  }
}
