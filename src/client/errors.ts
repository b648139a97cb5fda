/** The one error type the client throws for server refusals, lost connections and protocol faults. */

/** Machine-readable reason; WS refusal codes (API.md §3) pass through unchanged. */
export type BondErrorCode =
  | "http"
  | "bad_request"
  | "busy"
  | "not_found"
  | "nothing_to_cancel"
  | "rate_limited"
  | "unavailable"
  | "connection_lost"
  | "protocol"
  | "run_superseded";

export interface BondErrorInit {
  status?: number;
  code?: BondErrorCode;
  retryAfterSeconds?: number;
  body?: unknown;
  cause?: unknown;
}

export class BondError extends Error {
  /** HTTP status; 0 when no HTTP response carried the error (network, WebSocket, protocol). */
  readonly status: number;
  readonly code: BondErrorCode;
  /** From a `Retry-After` header (429 / 503), when the server sent one. */
  readonly retryAfterSeconds: number | undefined;
  /** The parsed JSON error body, when there was one. */
  readonly body: unknown;

  constructor(message: string, init: BondErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "BondError";
    this.status = init.status ?? 0;
    this.code = init.code ?? (init.status ? "http" : "protocol");
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.body = init.body;
  }

  /** Build from a non-2xx response, using the server's `{"error": "..."}` message when present. */
  static async fromResponse(res: Response): Promise<BondError> {
    let body: unknown;
    let message = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
    try {
      const text = await res.text();
      if (text) {
        body = JSON.parse(text);
        if (isRecord(body) && typeof body.error === "string" && body.error) message = body.error;
      }
    } catch {
      // Not JSON (e.g. Bun's bare 413): keep the status line as the message.
    }
    const retry = Number(res.headers.get("retry-after"));
    return new BondError(message, {
      status: res.status,
      code: "http",
      body,
      retryAfterSeconds: Number.isFinite(retry) && retry >= 0 && res.headers.has("retry-after") ? retry : undefined,
    });
  }
}

/** Statuses worth reconnecting on while following a stream: the server or a proxy is briefly unavailable. */
export function isTransientStatus(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
