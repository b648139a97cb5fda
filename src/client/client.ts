/** BondClient: the typed entry point to a Bond server over HTTP/SSE and WebSocket. */
import { reconnectPolicy } from "./backoff.ts";
import { HttpContext } from "./http.ts";
import { BondRun } from "./run.ts";
import { RunHandle, type RunStart, type TransportContext } from "./run-handle.ts";
import { sseEvents } from "./sse-transport.ts";
import type { AskOptions, BondClientOptions, HealthInfo, ResumeOptions, SessionInfo, StreamOptions, Transport } from "./types.ts";
import { wsEvents } from "./ws-transport.ts";

const DEFAULT_IDLE_TIMEOUT_MS = 45_000;

export class BondClient {
  private readonly ctx: TransportContext;
  private readonly transport: Transport;

  constructor(options: BondClientOptions) {
    const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.ctx = {
      http: new HttpContext(options.baseUrl, options.apiKey, fetchImpl),
      policy: reconnectPolicy(options.reconnect),
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      WebSocket: options.WebSocket,
      wsAuth: options.wsAuth ?? "subprotocol",
    };
    this.transport = options.transport ?? "sse";
  }

  /**
   * Start a run and stream its events. Nothing is sent until iteration begins.
   * `for await (const ev of bond.ask("What is 12*7?")) if (ev.type === "text") print(ev.content);`
   */
  ask(prompt: string, options: AskOptions = {}): BondRun {
    return this.run({ kind: "ask", prompt, sessionId: options.sessionId }, undefined, options);
  }

  /** Follow a session's latest run (e.g. after a page reload), after `lastEventId` if given. */
  resume(sessionId: string, options: ResumeOptions = {}): BondRun {
    return this.run({ kind: "resume", sessionId, streamUrl: options.streamUrl }, options.lastEventId, options);
  }

  /** `GET /sessions/{id}`. */
  session(sessionId: string, signal?: AbortSignal): Promise<SessionInfo> {
    return this.ctx.http.json<SessionInfo>("GET", this.ctx.http.route("sessions", sessionId), undefined, signal);
  }

  /** `POST /sessions/{id}/cancel`: cancel the running run (a BondError 409 if none is running). */
  async cancel(sessionId: string, signal?: AbortSignal): Promise<void> {
    const res = await this.ctx.http.request("POST", this.ctx.http.route("sessions", sessionId, "cancel"), undefined, signal);
    await res.body?.cancel();
  }

  /** `DELETE /sessions/{id}`: cancel and forget the session. */
  async delete(sessionId: string, signal?: AbortSignal): Promise<void> {
    const res = await this.ctx.http.request("DELETE", this.ctx.http.route("sessions", sessionId), undefined, signal);
    await res.body?.cancel();
  }

  /** `GET /health` (never needs auth). */
  health(signal?: AbortSignal): Promise<HealthInfo> {
    return this.ctx.http.json<HealthInfo>("GET", this.ctx.http.route("health"), undefined, signal);
  }

  private run(start: RunStart, lastEventId: string | undefined, options: StreamOptions): BondRun {
    const transport = options.transport ?? this.transport;
    const handle = new RunHandle(lastEventId, options.onSession);
    const events = transport === "ws" ? wsEvents : sseEvents;
    return new BondRun(transport, handle, () => events(this.ctx, handle, start, options.signal));
  }
}
