import type { BondMetrics } from "../server/metrics.ts";
import type { Logger } from "../server/logging.ts";
import type { SessionObserver } from "../sessions/observer.ts";

/** Turns session and run lifecycle into metrics and one log line per finished run. */
export function sessionReporter(metrics: BondMetrics, log: Logger): SessionObserver {
  return {
    sessionCreated() {
      metrics.sessionsCreated.inc();
    },
    sessionExpired(session) {
      metrics.sessionsExpired.inc();
      log.debug("session_expired", { session_id: session.id, runs: session.runCount });
    },
    sessionDeleted() {
      metrics.sessionsDeleted.inc();
    },
    runStarted() {
      metrics.runsStarted.inc();
    },
    runFinished(session, run, durationMs) {
      if (run.status === "running") return; // cannot happen: the manager reports after markFinished
      const events = run.log.length;
      const usage = run.usage;
      metrics.runFinished(run.status, durationMs, usage, events);
      // An errored run is worth a look but is not a server fault (the model or a tool failed).
      log.log(run.status === "error" ? "warn" : "info", "run", {
        session_id: session.id,
        run: run.number,
        status: run.status,
        duration_ms: Math.round(durationMs),
        events,
        prompt_tokens: usage?.prompt_tokens ?? 0,
        completion_tokens: usage?.completion_tokens ?? 0,
        total_tokens: usage?.total_tokens ?? 0,
        cost_usd: usage?.total_cost ?? null,
      });
    },
  };
}
