import type { BondAgent } from "../agent/agent.ts";
import { RunStop } from "../agent/abort.ts";
import { Run } from "./run.ts";
import { Session } from "./session.ts";
import type { SessionObserver } from "./observer.ts";
import type { SessionStore } from "./store.ts";
import { pumpRun } from "./runner.ts";

export interface SessionManagerOptions {
  timeoutMs: number;
  maxSessions: number;
  disconnectGraceMs: number;
  runTimeoutMs: number;
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

  /** A live session, or undefined when unknown or expired (an expired one is dropped now). */
  get(id: string): Session | undefined {
    const session = this.store.get(id);
    if (!session) return undefined;
    if (this.isExpired(session, Date.now())) {
      this.store.delete(id);
      this.options.observer?.sessionExpired(session);
      return undefined;
    }
    return session;
  }

  /** A new session, or null when the live-session limit is reached. */
  create(id: string = crypto.randomUUID()): Session | null {
    if (this.store.size >= this.options.maxSessions) {
      this.sweep();
      if (this.store.size >= this.options.maxSessions) return null;
    }
    const session = new Session(id);
    this.store.set(session);
    this.options.observer?.sessionCreated(session);
    return session;
  }

  start(session: Session, prompt: string): StartResult {
    if (session.isRunning) return { ok: false, reason: "busy" };
    const run = new Run(++session.runCount, this.options.disconnectGraceMs);
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

  delete(id: string): boolean {
    const session = this.store.get(id);
    if (!session) return false;
    session.latestRun?.cancel(new RunStop("session deleted"));
    const deleted = this.store.delete(id);
    if (deleted) this.options.observer?.sessionDeleted(session);
    return deleted;
  }

  sweep(now = Date.now()): number {
    let removed = 0;
    for (const session of this.store.values()) {
      if (this.isExpired(session, now)) {
        this.store.delete(session.id);
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
