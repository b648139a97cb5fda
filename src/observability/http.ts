import type { Elysia } from "elysia";
import type { BondMetrics } from "../server/metrics.ts";
import type { Logger } from "../server/logging.ts";
import { SESSION_ID_PATTERN } from "../sessions/session.ts";
import { REQUEST_ID_HEADER, requestIdFor } from "./request-id.ts";
import { RouteMatcher, type RouteLike } from "./route-match.ts";

interface RequestState {
  readonly id: string;
  readonly start: number;
  sessionId: string | null;
  /** The status an onError hook answered with (Elysia's `set.status` does not show it). */
  errorStatus: number | null;
}

/** The part of Elysia's after-response context used here. */
interface AfterResponseContext {
  request: Request;
  route?: string;
  params?: unknown;
  set: { status?: number | string };
  responseValue?: unknown;
  code?: unknown;
}

/** Routes whose successful requests are logged at debug: probes and scrapers call them all the time. */
const QUIET_ROUTES = new Set(["/health", "/metrics"]);
/** The route label of requests that matched no route (one label for every unknown path). */
const UNMATCHED = "unmatched";

/**
 * One log line and one metric sample per HTTP request, and an `X-Request-Id`
 * on every response. Elysia does not run after-response hooks for a response
 * an onRequest hook answered early, nor tell them the status an onError hook
 * answered with, so those two hooks pass their answer through `early` / `errored`.
 *
 * Hooks here and in app.ts destructure their context: Elysia parses headers, query and
 * cookies for EVERY request once any hook hands the whole context to a function.
 */
export class HttpObserver {
  private readonly matcher = new RouteMatcher();

  constructor(
    private readonly metrics: BondMetrics,
    private readonly log: Logger,
  ) {}

  /** Register first, so the id is set and the clock started before any other hook can answer. */
  plugin() {
    return (app: Elysia) => app
      .onStart((app) => {
        this.matcher.setRoutes(app.routes as readonly RouteLike[]);
      })
      .onRequest(({ request, set }) => {
        const id = requestIdFor(request.headers.get(REQUEST_ID_HEADER));
        setState(request, { id, start: performance.now(), sessionId: null, errorStatus: null });
        set.headers[REQUEST_ID_HEADER] = id;
      })
      .onAfterResponse({ as: "global" }, ({ request, route, params, set, responseValue, code }: AfterResponseContext) => {
        this.afterResponse({ request, route, params, set, responseValue, code });
      });
  }

  /** Routes to label requests that were answered before routing (e.g. a 401); set by the plugin on start. */
  setRoutes(routes: readonly RouteLike[]): void {
    this.matcher.setRoutes(routes);
  }

  requestId(request: Request): string | undefined {
    return stateOf(request)?.id;
  }

  /** The session a request created or used, for its log line (when the path does not name it). */
  tagSession(request: Request, sessionId: string): void {
    const state = stateOf(request);
    if (state) state.sessionId = sessionId;
  }

  /** An onRequest hook's answer (a Response: it answered early), logged and counted since no after-response hook will. */
  early<T>(request: Request, answer: T): T {
    if (answer instanceof Response) this.finish(request, answer.status, null, null);
    return answer;
  }

  /** An onError hook's answer, noted so the after-response log sees its status. */
  errored<T>(request: Request, answer: T): T {
    const state = stateOf(request);
    if (state && answer instanceof Response) state.errorStatus = answer.status;
    return answer;
  }

  private afterResponse(ctx: AfterResponseContext): void {
    const state = stateOf(ctx.request);
    if (!state) return;
    const status = this.statusOf(ctx, state);
    // Not found: Elysia may still name a wildcard route (an OPTIONS /*) that did not match the method.
    const route = ctx.code === "NOT_FOUND" ? UNMATCHED : typeof ctx.route === "string" && ctx.route !== "" ? ctx.route : null;
    this.finish(ctx.request, status, route, sessionParam(ctx.params));
  }

  private statusOf(ctx: AfterResponseContext, state: RequestState): number {
    if (state.errorStatus !== null) return state.errorStatus;
    if (ctx.responseValue instanceof Response) return ctx.responseValue.status;
    const set = typeof ctx.set.status === "number" ? ctx.set.status : null;
    if (ctx.code !== undefined) return set !== null && set >= 400 ? set : 500;
    // A WebSocket upgrade that went through answers 101 with no Response of ours.
    if (ctx.responseValue === undefined && ctx.request.headers.get("upgrade")?.toLowerCase() === "websocket") return 101;
    return set ?? 200;
  }

  private finish(request: Request, status: number, route: string | null, pathSession: string | null): void {
    const state = stateOf(request);
    if (!state) return;
    setState(request, undefined); // exactly one line per request
    const method = request.method;
    const template = route ?? this.matcher.match(method, new URL(request.url).pathname) ?? UNMATCHED;
    this.metrics.httpRequest(method, template, status);
    const level = status >= 500 ? "error" : status < 400 && QUIET_ROUTES.has(template) ? "debug" : "info";
    if (!this.log.enabled(level)) return;
    this.log.log(level, "request", {
      request_id: state.id,
      method,
      route: template,
      status,
      duration_ms: Math.round((performance.now() - state.start) * 10) / 10,
      session_id: state.sessionId ?? pathSession ?? undefined,
    });
  }
}

const STATE = Symbol("bond.request-state");
type WithState = Request & { [STATE]?: RequestState };

// A request's state is kept on the request itself under a private symbol, not in a WeakMap:
// every live weak-map entry is extra work for each garbage collection, one per request in flight.
function stateOf(request: Request): RequestState | undefined {
  return (request as WithState)[STATE];
}

function setState(request: Request, state: RequestState | undefined): void {
  (request as WithState)[STATE] = state;
}

function sessionParam(params: unknown): string | null {
  if (typeof params !== "object" || params === null) return null;
  const id = (params as Record<string, unknown>).session_id;
  return typeof id === "string" && SESSION_ID_PATTERN.test(id) ? id : null;
}
