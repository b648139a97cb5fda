/** What one run's transport shares with its BondRun and with the other helpers of a run. */
import type { ReconnectPolicy } from "./backoff.ts";
import { EventCursor } from "./event-cursor.ts";
import type { HttpContext } from "./http.ts";
import type { WebSocketAuth, WebSocketConstructor } from "./types.ts";

/** Client-wide settings a transport needs. */
export interface TransportContext {
  http: HttpContext;
  policy: ReconnectPolicy;
  idleTimeoutMs: number;
  WebSocket: WebSocketConstructor | undefined;
  wsAuth: WebSocketAuth;
}

/** How a run begins: a new prompt, or following a session's latest run. */
export type RunStart =
  | { kind: "ask"; prompt: string; sessionId: string | undefined }
  | { kind: "resume"; sessionId: string; streamUrl: string | undefined };

export class RunHandle {
  sessionId: string | null = null;
  streamUrl: string | null = null;
  readonly cursor: EventCursor;

  constructor(
    lastEventId: string | undefined,
    private readonly onSession: ((sessionId: string) => void) | undefined,
  ) {
    this.cursor = new EventCursor(lastEventId);
  }

  setSession(sessionId: string): void {
    if (this.sessionId === sessionId) return;
    this.sessionId = sessionId;
    try {
      this.onSession?.(sessionId);
    } catch {
      // A throwing callback must not break the stream.
    }
  }
}

/** Wait for `promise`, but no longer than `ms`; never rejects (for best-effort clean-up). */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

/** How long an abort waits for the server to confirm the cancel before the iterator throws. */
export const CANCEL_SETTLE_MS = 3000;
