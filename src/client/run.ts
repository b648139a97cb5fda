/** BondRun: what `ask()` / `resume()` return — an async iterable of events plus where the run lives. */
import type { RunHandle } from "./run-handle.ts";
import type { BondEvent, Transport } from "./types.ts";

export class BondRun implements AsyncIterable<BondEvent> {
  private started = false;

  /** @internal Built by BondClient. */
  constructor(
    readonly transport: Transport,
    private readonly handle: RunHandle,
    private readonly source: () => AsyncGenerator<BondEvent, void, undefined>,
  ) {}

  /** The session, once the server has named it (always before the first event). */
  get sessionId(): string | null {
    return this.handle.sessionId;
  }

  /** The id of the last event delivered: keep it (with `sessionId`) to `resume()` after a page reload. */
  get lastEventId(): string | null {
    return this.handle.cursor.lastEventId;
  }

  /** The `stream_url` the server returned (SSE), to pass back to `resume()`. */
  get streamUrl(): string | null {
    return this.handle.streamUrl;
  }

  /** A run can be iterated once; the request starts when iteration does. */
  [Symbol.asyncIterator](): AsyncIterator<BondEvent> {
    if (this.started) throw new Error("a BondRun can be iterated only once");
    this.started = true;
    return this.source();
  }
}
