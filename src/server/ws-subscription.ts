import type { LogReader } from "../sessions/run-log.ts";
import type { Run } from "../sessions/run.ts";
import { wsFrameAt, wsFrameOf } from "./encode.ts";

/** The part of a Bun ServerWebSocket a subscription needs. */
export interface FrameSink {
  send(data: string): number;
  getBufferedAmount(): number;
  close(code: number, reason: string): void;
  /** Bun's cork: the sends inside the callback go out in one write. */
  cork?<T>(callback: () => T): T;
}

/** Above this many unsent bytes a subscription pauses until the socket drains: memory per slow client stays bounded. */
export const HIGH_WATER_BYTES = 1 << 20;
/** The socket's buffer is asked again only after this many characters were sent: not once per frame. */
const CHECK_EVERY_CHARS = 64 * 1024;
export const DONE_FRAME = '{"t":"done"}';
/** "Try again later" (RFC 6455): a client too slow to keep up; it may resume from its last event id. */
export const WS_TOO_SLOW = 1013;

/** One WebSocket following one run's log from its own cursor. */
export class WsSubscription implements LogReader {
  private stopped = false;
  /** Where it started, so `sent` can count events without per-event work. */
  private readonly startCursor: number;
  /** True while this waits in the log for its next growth (logGrew). */
  private waiting = false;
  /** When the buffer last went over the high-water mark without coming back under (0: it is under). */
  private stalledSince = 0;
  private stallTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly sink: FrameSink,
    readonly run: Run,
    private cursor: number,
    private readonly onEnd: (sub: WsSubscription) => void,
    /** How long the buffer may stay over the high-water mark before the socket is closed with 1013. */
    private readonly stallGraceMs: number = Number.POSITIVE_INFINITY,
  ) {
    this.startCursor = cursor;
    run.subscribe();
  }

  /** Events handed to the socket so far. */
  get sent(): number {
    return this.cursor - this.startCursor;
  }

  /** The log grew (or ended) while this waited in it. */
  logGrew(): void {
    this.waiting = false;
    this.flush();
  }

  /** Sends what the log has past the cursor, as far as the socket takes it; called on growth and on drain. */
  flush(): void {
    if (this.stopped) return;
    const backlog = this.run.log.length - this.cursor;
    if (backlog > 1 && this.sink.cork) this.sink.cork(this.sendBound);
    else this.send();
  }

  private readonly sendBound = (): void => this.send();

  private send(): void {
    const log = this.run.log;
    // Several sockets on one run share each frame; a lone one makes its frames as it goes.
    const shared = this.run.subscriberCount > 1;
    let unchecked = CHECK_EVERY_CHARS; // check first: the last send may have left the buffer full
    while (this.cursor < log.length) {
      if (unchecked >= CHECK_EVERY_CHARS) {
        if (!this.hasRoom()) return; // resumed by the socket's drain, or closed when the grace runs out
        unchecked = 0;
      }
      const frame = shared ? wsFrameAt(log, this.cursor) : wsFrameOf(log, this.cursor);
      const status = this.sink.send(frame);
      if (status === 0) return this.stop(); // dropped: the socket is closing
      unchecked += frame.length;
      this.cursor++;
    }
    if (log.isEnded) {
      this.sink.send(DONE_FRAME);
      this.stop();
      return;
    }
    if (!this.waiting) {
      this.waiting = true;
      log.onNext(this);
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    if (this.waiting) this.run.log.offNext(this);
    this.waiting = false;
    this.run.unsubscribe();
    this.onEnd(this);
  }

  private hasRoom(): boolean {
    if (this.sink.getBufferedAmount() <= HIGH_WATER_BYTES) {
      this.stalledSince = 0;
      return true;
    }
    if (this.stalledSince === 0) {
      this.stalledSince = Date.now();
      this.armStallTimer(this.stallGraceMs);
    }
    return false;
  }

  private armStallTimer(ms: number): void {
    if (this.stallTimer || !Number.isFinite(ms)) return;
    this.stallTimer = setTimeout(() => this.checkStall(), ms);
    this.stallTimer.unref?.();
  }

  /** A socket still over the mark a whole grace after it first went over is closed; the client can resume. */
  private checkStall(): void {
    this.stallTimer = null;
    if (this.stopped || this.stalledSince === 0) return;
    this.flush(); // it may have drained without a drain event reaching us
    if (this.stopped || this.stalledSince === 0) return;
    const left = this.stalledSince + this.stallGraceMs - Date.now();
    if (left > 0) return this.armStallTimer(left);
    this.sink.close(WS_TOO_SLOW, "client too slow; resume to continue");
    this.stop();
  }
}
