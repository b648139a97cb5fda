/** The plain HTTP side: URLs, auth headers, JSON requests with the API's error shape. */
import { BondError } from "./errors.ts";
import type { FetchLike } from "./types.ts";

export class HttpContext {
  readonly baseUrl: URL;

  constructor(
    baseUrl: string | URL,
    readonly apiKey: string | undefined,
    readonly fetch: FetchLike,
  ) {
    const url = new URL(baseUrl);
    // Keep a path prefix ("http://host/bond") when joining routes onto it.
    if (!url.pathname.endsWith("/")) url.pathname += "/";
    url.search = "";
    url.hash = "";
    this.baseUrl = url;
  }

  /** A route of the API, e.g. `route("sessions", id, "cancel")`; segments are percent-encoded. */
  route(...segments: string[]): URL {
    return new URL(segments.map(encodeURIComponent).join("/"), this.baseUrl);
  }

  /**
   * A URL the server handed out (`stream_url`, query such as `?token=` kept). A root-relative one is
   * taken relative to the base URL, so a client behind a path prefix ("http://host/bond") stays on it.
   */
  resolve(serverUrl: string): URL {
    return new URL(serverUrl.replace(/^\/(?!\/)/, ""), this.baseUrl);
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.apiKey ? { ...extra, authorization: `Bearer ${this.apiKey}` } : extra;
  }

  /** Sends a request; a non-2xx answer becomes a BondError carrying the server's message. */
  async request(method: string, url: URL, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const init: RequestInit = { method, headers: this.headers(body === undefined ? {} : { "content-type": "application/json" }) };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (signal) init.signal = signal;
    let res: Response;
    try {
      res = await this.fetch(url.href, init);
    } catch (cause) {
      if (signal?.aborted) throw signal.reason;
      throw new BondError(`${method} ${url.pathname} failed: ${describe(cause)}`, { code: "connection_lost", cause });
    }
    if (!res.ok) throw await BondError.fromResponse(res);
    return res;
  }

  async json<T>(method: string, url: URL, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.request(method, url, body, signal);
    try {
      return (await res.json()) as T;
    } catch (cause) {
      throw new BondError(`${method} ${url.pathname}: the answer is not JSON`, { status: res.status, code: "protocol", cause });
    }
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
