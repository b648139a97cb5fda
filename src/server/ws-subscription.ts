import type { Run } from "../sessions/run.ts";
import { wsText } from "./encode.ts";

/** The part of a Bun ServerWebSocket a subscription needs. */
export interface FrameSink {
  send(data: string): number;
  getBufferedAmount(): number;
}

/** Above this many unsent bytes a subscription pauses until the socket drains: memory per slow client stays bounded. */
const HIGH_WATER_BYTES = 1 << 20;
export const DONE_FRAME = '{"t":"done"}';

/** One WebSocket following one run's log from its own cursor. */
export class WsSubscription {
  private stopped = false;
  /** Where it started, so `sent` can count events without per-event work. */
  private readonly startCursor: number;
  private forget: (() => void) | null = null;
  private readonly flushBound = (): void => {
    this.forget = null;
    this.flush();
  };

  constructor(
    private readonly sink: FrameSink,
    readonly run: Run,
    private cursor: number,
    private readonly onEnd: (sub: WsSubscription) => void,
  ) {
    this.startCursor = cursor;
    run.subscribe();
  }

  /** Events handed to the socket so far. */
  get sent(): number {
    return this.cursor - this.startCursor;
  }

  /** Sends what the log has past the cursor, as far as the socket takes it; called on growth and on drain. */
  flush(): void {
    if (this.stopped) return;
    const log = this.run.log;
    const events = log.events;
    while (this.cursor < events.length) {
      if (this.sink.getBufferedAmount() > HIGH_WATER_BYTES) return; // resumed by the socket's drain
      const status = this.sink.send(wsText(events[this.cursor]!));
      if (status === 0) return this.stop(); // dropped: the socket is closing
      this.cursor++;
    }
    if (log.isEnded) {
      this.sink.send(DONE_FRAME);
      this.stop();
      return;
    }
    if (!this.forget) this.forget = log.onNext(this.flushBound);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.forget?.();
    this.forget = null;
    this.run.unsubscribe();
    this.onEnd(this);
  }
}
