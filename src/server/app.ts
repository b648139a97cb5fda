import { Elysia } from "elysia";
import { cors } from "@elysiajs/cors";
import type { BondAgent } from "../agent/agent.ts";
import { resolveConfig, type ServerConfig } from "../config.ts";
import { MemorySessionStore, type SessionStore } from "../sessions/store.ts";
import { jsonError, SECURITY_HEADERS, unauthorized } from "./http-error.ts";
import { BondRuntime } from "./runtime.ts";
import { askRoutes } from "./routes/ask.ts";
import { healthRoutes } from "./routes/health.ts";
import { sessionRoutes } from "./routes/sessions.ts";
import { streamRoutes } from "./routes/stream.ts";
import { wsRoutes } from "./routes/ws.ts";
import { Playground } from "./routes/playground.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import type { LogSink } from "./logging.ts";
import { DOCS_PATH, OPENAPI_PATH, openapiRoutes } from "./openapi.ts";

export interface BondServerOptions {
  store?: SessionStore;
  /** Seconds an idle plain-HTTP connection is kept (Bun's idleTimeout, max 255). Streams are exempt. */
  idleTimeoutSeconds?: number;
  /** Where JSON log lines go (one call per line, no newline); stdout by default. The level is `config.log_level`. */
  logger?: LogSink;
}

/** Paths that never need a key (exact match: never trust prefixes, TRAPS #18). */
// The API description is public: it holds no secrets, and a browser docs page cannot send a key.
const PUBLIC_PATHS = new Set(["/health", OPENAPI_PATH, DOCS_PATH]);

/**
 * The Bond server as an Elysia app: `createBondServer(agent, config).listen(…)`.
 * `app.bond` is its runtime (sessions, shutdown state).
 */
export function createBondServer(agent: BondAgent, config: Partial<ServerConfig> = {}, options: BondServerOptions = {}) {
  const cfg = resolveConfig(config);
  const runtime = new BondRuntime(cfg, agent, options.store ?? new MemorySessionStore(), options.logger);
  const anyOrigin = cfg.cors_origins.includes("*");
  // The playground page and its files are public too: they hold no secrets (exact paths only).
  const playground = cfg.playground ? new Playground() : null;
  const isPublic = (path: string): boolean => PUBLIC_PATHS.has(path) || (playground?.publicPaths.has(path) ?? false);

  const app = new Elysia({
    // Bun's own 413 has an empty body: let bodies a little over our limit through, to answer them in JSON.
    serve: {
      reusePort: false, // a stale instance must not silently share the port (TRAPS #13)
      // Bun (and Elysia) default to development mode unless NODE_ENV=production: its error page
      // shows stack traces to clients. A server is always in production here.
      development: false,
      idleTimeout: options.idleTimeoutSeconds ?? 30,
      maxRequestBodySize: Math.max(cfg.max_body_bytes * 4, cfg.max_body_bytes + 1024 * 1024),
    },
    // WebSocket limits only apply app-wide (TRAPS #7).
    websocket: {
      maxPayloadLength: cfg.max_ws_frame_bytes,
      idleTimeout: Math.min(960, Math.max(30, Math.ceil(cfg.heartbeat_seconds * 3))),
      sendPings: false, // our shared heartbeat pings every heartbeat_seconds
      backpressureLimit: 64 * 1024 * 1024,
      closeOnBackpressureLimit: true,
    },
  })
    .onStart((started) => {
      runtime.server = started.server;
    })
    // First: every response, even an early 401, gets its X-Request-Id and a log line.
    .use(runtime.http.plugin())
    // Default headers of every response, CORS preflights (answered before any onRequest of ours) included.
    .headers(SECURITY_HEADERS)
    .use(
      cors({
        // Explicit options: the plugin's defaults reflect any origin WITH credentials (TRAPS #12).
        origin: anyOrigin ? "*" : cfg.cors_origins,
        credentials: false,
        methods: "GET, POST, DELETE, OPTIONS", // a string: an array is joined again on every request
        allowedHeaders: ["Content-Type", "Authorization", "Last-Event-ID", "X-Request-Id"],
        exposeHeaders: ["Retry-After", "X-Request-Id"],
        maxAge: 600,
      }),
    )
    .onRequest(({ request }) => {
      const declared = Number(request.headers.get("content-length") ?? 0);
      if (declared > cfg.max_body_bytes) {
        return runtime.http.early(request, jsonError(413, `Request body is larger than the limit of ${cfg.max_body_bytes} bytes.`));
      }
      // Routes identify the caller again (defence in depth); this is the gate.
      if (runtime.access.authOn && request.method !== "OPTIONS" && !isPublic(new URL(request.url).pathname)) {
        if (!runtime.access.identify(request, runtime.peerAddress)) return runtime.http.early(request, unauthorized());
      }
    })
    .onError(({ code, error, request }) => {
      let answer: Response;
      switch (code) {
        case "PARSE":
          answer = jsonError(400, "The request body is not valid JSON.");
          break;
        case "VALIDATION": {
          const first = error.valueError;
          const where = first?.path ? first.path.replace(/^\//, "") : "body";
          answer = jsonError(400, `Invalid request: ${where}: ${first?.message ?? "does not match the schema"}`);
          break;
        }
        case "NOT_FOUND":
          answer = jsonError(404, "Not found");
          break;
        default:
          runtime.log.error("request_failed", {
            request_id: runtime.http.requestId(request),
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          });
          answer = jsonError(500, "Internal server error");
      }
      return runtime.http.errored(request, answer);
    })
    // Route groups are functional plugins, `(app) => app.get(…)`: they add their routes to this app
    // directly. A plugin instance each was built and then merged in route by route (1.5–3 ms of start-up).
    .use(healthRoutes(runtime))
    .use(askRoutes(runtime))
    .use(streamRoutes(runtime))
    .use(sessionRoutes(runtime))
    .use(wsRoutes(runtime))
    .use(metricsRoutes(runtime.metrics))
    .use(openapiRoutes(runtime));

  if (playground) app.use(playground.routes());

  return Object.assign(app, { bond: runtime });
}

export type BondServer = ReturnType<typeof createBondServer>;
