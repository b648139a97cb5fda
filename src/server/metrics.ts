import type { UsageTotals } from "../agent/events.ts";
import { Counter, Gauge, Histogram, Registry } from "../observability/prometheus.ts";
import type { RunStatus } from "../sessions/run.ts";

export type Transport = "sse" | "ws";
export type FinishedStatus = Exclude<RunStatus, "running">;

/** Sizes read at scrape time rather than tracked on every change. */
export interface LiveCounts {
  sessions: number;
  runningRuns: number;
  sseSubscribers: number;
  wsSubscribers: number;
  wsConnections: number;
}

export interface ServerInfo {
  version: string;
  model: string;
  agent: string;
}

/** Seconds: a demo reply takes well under a second, a tool-using model run tens of seconds, the default limit is 600. */
export const RUN_DURATION_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);
const STATUSES: readonly FinishedStatus[] = ["completed", "error", "cancelled"];
const TRANSPORTS: readonly Transport[] = ["sse", "ws"];

/**
 * Bond's metrics (GET /metrics). Recording is an integer add: nothing here
 * runs per event; events are counted per run at its end and per subscriber
 * when it stops.
 */
export class BondMetrics {
  private readonly registry = new Registry();
  private readonly startSeconds = Date.now() / 1000;

  readonly sessionsCreated = this.registry.add(new Counter("bond_sessions_created_total", "Sessions created."));
  readonly sessionsExpired = this.registry.add(new Counter("bond_sessions_expired_total", "Sessions dropped after their idle timeout."));
  readonly sessionsDeleted = this.registry.add(new Counter("bond_sessions_deleted_total", "Sessions deleted by a client (DELETE /sessions/{id})."));
  readonly runsStarted = this.registry.add(new Counter("bond_runs_started_total", "Runs started."));
  readonly runsFinished = this.registry.add(
    new Counter("bond_runs_finished_total", "Runs finished, by outcome: completed, error or cancelled.", ["status"]),
  );
  readonly runDuration = this.registry.add(
    new Histogram("bond_run_duration_seconds", "Run duration from start to terminal event, in seconds.", RUN_DURATION_BUCKETS),
  );
  readonly runEvents = this.registry.add(new Counter("bond_run_events_total", "Events logged by finished runs (counted at run end)."));
  readonly eventsSent = this.registry.add(
    new Counter("bond_events_sent_total", "Events handed to subscribers, by transport (counted when a subscriber stops).", ["transport"]),
  );
  readonly tokens = this.registry.add(
    new Counter("bond_tokens_total", "Model tokens used by finished runs, by kind: prompt or completion.", ["kind"]),
  );
  readonly cost = this.registry.add(
    new Counter("bond_cost_usd_total", "Model cost of finished runs in USD (runs of models without a known price add nothing)."),
  );
  readonly httpRequests = this.registry.add(
    new Counter("bond_http_requests_total", "HTTP requests, by method, route template and status.", ["method", "route", "status"]),
  );

  constructor(info: ServerInfo, live: () => LiveCounts) {
    for (const s of STATUSES) this.runsFinished.touch([s]);
    for (const t of TRANSPORTS) this.eventsSent.touch([t]);
    this.tokens.touch(["prompt"]);
    this.tokens.touch(["completion"]);
    const r = this.registry;
    r.add(new Gauge("bond_sessions_active", "Live sessions.", [], () => [[[], live().sessions]]));
    r.add(new Gauge("bond_runs_running", "Runs in progress.", [], () => [[[], live().runningRuns]]));
    r.add(
      new Gauge("bond_stream_subscribers", "Subscribers following a run, by transport.", ["transport"], () => {
        const now = live();
        return [
          [["sse"], now.sseSubscribers],
          [["ws"], now.wsSubscribers],
        ];
      }),
    );
    r.add(new Gauge("bond_websocket_connections", "Open WebSocket connections.", [], () => [[[], live().wsConnections]]));
    r.add(
      new Gauge("bond_info", "Server build and agent; always 1.", ["version", "model", "agent"], () => [
        [[info.version, info.model, info.agent], 1],
      ]),
    );
    r.add(new Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", [], () => [[[], process.memoryUsage.rss()]]));
    r.add(new Gauge("process_start_time_seconds", "Start time of the server since the Unix epoch, in seconds.", [], () => [[[], this.startSeconds]]));
  }

  runFinished(status: FinishedStatus, durationMs: number, usage: UsageTotals | null, events: number): void {
    this.runsFinished.inc(1, [status]);
    this.runDuration.observe(durationMs / 1000);
    this.runEvents.inc(events);
    if (usage) {
      this.tokens.inc(usage.prompt_tokens, ["prompt"]);
      this.tokens.inc(usage.completion_tokens, ["completion"]);
      if (usage.total_cost !== null) this.cost.inc(usage.total_cost);
    }
  }

  /** `route` must be a template (`/stream/:session_id`) or a fixed word, never a raw path: label values must stay few. */
  httpRequest(method: string, route: string, status: number): void {
    this.httpRequests.inc(1, [METHODS.has(method) ? method : "OTHER", route, String(status)]);
  }

  render(): string {
    return this.registry.render();
  }
}
