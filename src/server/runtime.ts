import type { Server } from "bun";
import type { BondAgent } from "../agent/agent.ts";
import type { ServerConfig } from "../config.ts";
import { SessionManager } from "../sessions/manager.ts";
import type { SessionStore } from "../sessions/store.ts";
import { Access } from "./access.ts";
import { Heartbeat } from "./heartbeat.ts";
import { HttpObserver } from "../observability/http.ts";
import { sessionReporter } from "../observability/session-report.ts";
import { Logger, type LogSink } from "./logging.ts";
import { BondMetrics } from "./metrics.ts";
import pkg from "../../package.json" with { type: "json" };
import { RateLimiter } from "./rate-limit.ts";
import { RunQuota } from "./run-quota.ts";

/** What every route shares: config, agent, sessions, the heartbeat, and the shutdown state. */
export class BondRuntime {
  readonly sessions: SessionManager;
  readonly heartbeat: Heartbeat;
  readonly rateLimiter: RateLimiter | null;
  /** Auth (keys, stream tokens), client address, WS Origin check. */
  readonly access: Access;
  /** Concurrent running runs per caller. */
  readonly runQuota: RunQuota;
  shuttingDown = false;
  /**
   * The Bun server, set when it starts listening. Routes reach it here rather than through
   * Elysia's context: a handler that names `server` makes Elysia define a getter on every
   * request's context.
   */
  server: Server<unknown> | null = null;
  /** Closers of open WebSockets, so shutdown can close them all. */
  readonly sockets = new Set<(code: number, reason: string) => void>();
  /** Open SSE streams (for /health and shutdown). */
  sseStreams = 0;
  /** WebSocket subscriptions following a run (for /metrics). */
  wsSubscribers = 0;
  readonly log: Logger;
  readonly metrics: BondMetrics;
  /** Request ids, the request log and HTTP metrics. */
  readonly http: HttpObserver;

  constructor(
    readonly config: ServerConfig,
    readonly agent: BondAgent,
    store: SessionStore,
    logSink?: LogSink,
  ) {
    this.log = new Logger(config.log_level, logSink);
    this.metrics = new BondMetrics({ version: pkg.version, model: agent.model.name, agent: agent.name }, () => ({
      sessions: this.sessions.size,
      runningRuns: this.sessions.runningRuns.size,
      sseSubscribers: this.sseStreams,
      wsSubscribers: this.wsSubscribers,
      wsConnections: this.sockets.size,
    }));
    this.http = new HttpObserver(this.metrics, this.log);
    this.sessions = new SessionManager(store, agent, {
      timeoutMs: config.session_timeout_seconds * 1000,
      maxSessions: config.max_concurrent_sessions,
      disconnectGraceMs: config.disconnect_grace_seconds * 1000,
      runTimeoutMs: config.run_timeout_seconds * 1000,
      runLog: { maxEvents: config.max_run_events, maxBytes: config.max_run_bytes },
      observer: sessionReporter(this.metrics, this.log),
    });
    this.access = new Access(config);
    this.runQuota = new RunQuota(config.max_concurrent_runs_per_caller);
    this.heartbeat = new Heartbeat(config.heartbeat_seconds * 1000);
    this.rateLimiter = config.rate_limit_per_minute ? new RateLimiter(config.rate_limit_per_minute) : null;
  }

  /** The client's address as Bun sees it (undefined before listen or for a closed socket). */
  readonly peerAddress = (request: Request): string | undefined => this.server?.requestIP(request)?.address;

  /** Seconds a client should wait before retrying a 503. */
  get retryAfterSeconds(): string {
    return this.shuttingDown ? String(Math.max(1, Math.ceil(this.config.shutdown_grace_seconds))) : "5";
  }

  dispose(): void {
    this.sessions.close();
    this.heartbeat.stop();
  }
}
