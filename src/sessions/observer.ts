import type { Run } from "./run.ts";
import type { Session } from "./session.ts";

/** What the session manager reports as it goes (metrics and logs listen); every call is cheap and must not throw. */
export interface SessionObserver {
  sessionCreated(session: Session): void;
  /** Dropped for inactivity (on access or by the sweep). */
  sessionExpired(session: Session): void;
  /** Dropped by DELETE. */
  sessionDeleted(session: Session): void;
  runStarted(session: Session, run: Run): void;
  /** Called once the run's outcome is applied: `run.status` and `run.usage` are final. */
  runFinished(session: Session, run: Run, durationMs: number): void;
}

export const NO_OBSERVER: SessionObserver = {
  sessionCreated() {},
  sessionExpired() {},
  sessionDeleted() {},
  runStarted() {},
  runFinished() {},
};
