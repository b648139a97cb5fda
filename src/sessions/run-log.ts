import { isTerminal, type AgentEvent } from "../agent/events.ts";
import { packDeltas, unpackDelta, type StoredEntry } from "./delta-packing.ts";

/**
 * A logged event. A text delta, most of any log, is kept as its bare content string: a log lives
 * as long as its session, and every object kept per event costs each garbage collection.
 */
export type LogEntry = AgentEvent | string;

/** A subscriber waiting for the log to grow: an object, not a closure, so a waiting stream costs no extra function. */
export interface LogReader {
  logGrew(): void;
}

/** SSE text of the log's events [from, to), made for one subscriber and reused by any other that asks for the same start. */
export interface SseChunk {
  readonly from: number;
  readonly to: number;
  readonly text: string;
}

/**
 * Subscribers are woken once per event-loop turn (setImmediate), not per event: all that a
 * model produced in one turn (a fast model: a whole run) reaches each socket as one write.
 * A real model's chunks arrive in turns of their own, so each still goes out in the turn it
 * came. The end of a run goes out at once.
 */
const toWake = new Set<RunLog>();
let wakeScheduled = false;

function wakeScheduledLogs(): void {
  wakeScheduled = false;
  for (const log of toWake) {
    toWake.delete(log);
    log.queuedForWake = false;
    log.wakeAll();
  }
}

function scheduleWake(log: RunLog): void {
  // A fast run appends many events per turn: one flag check instead of a set insert per event.
  if (log.queuedForWake) return;
  log.queuedForWake = true;
  toWake.add(log);
  if (!wakeScheduled) {
    wakeScheduled = true;
    setImmediate(wakeScheduledLogs);
  }
}

/** How much one run may log (API.md §4 bounds): events, and about this many payload bytes. */
export interface RunLogLimits {
  maxEvents: number;
  maxBytes: number;
}

const UNLIMITED: RunLogLimits = { maxEvents: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY };

/** Slots kept for what ends a run after an overflow: the open block's end, `usage`, the terminal event. */
const CLOSING_EVENTS = 3;

/**
 * The ordered events of one run. Subscribers read it from their own cursor at
 * their own pace, which gives replay, resume and fan-out, and keeps a slow
 * reader from ever slowing the agent.
 */
export class RunLog {
  /** The events, in order (read them with entryAt); event i has the id `<run>:<i+1>`. */
  private readonly entries: StoredEntry[] = [];
  /** Once a finished log is packed (settle): its deltas' text, which packed entries point into. */
  private packedText: string | null = null;
  private packTried = false;
  /** In the set of logs whose subscribers the next wake-up turn wakes (scheduleWake). */
  queuedForWake = false;
  /** Encodings shared between subscribers, made and read by the server's encoders (src/server/encode.ts). */
  sseShared: SseChunk | null = null;
  wsFrames: string[] | null = null;
  private ended = false;
  /** Null while nobody waits: a finished session keeps its last log, and every object kept costs each full collection. */
  private waiters: LogReader[] | null = null;
  /** The one waiting reader, when there is just one (most runs): no array for it. */
  private soleWaiter: LogReader | null = null;
  private bytes = 0;
  private blockOpen = false;
  private over = false;

  constructor(
    readonly run: number,
    private readonly limits: RunLogLimits = UNLIMITED,
  ) {}

  /** True once the log hit its limits: from then on it takes only what ends the run properly. */
  get overflowed(): boolean {
    return this.over;
  }

  /** The run's error message once the log overflowed. */
  get overflowMessage(): string {
    return `The run exceeded its event log limit (${this.limits.maxEvents} events or about ${this.limits.maxBytes} bytes).`;
  }

  get length(): number {
    return this.entries.length;
  }

  /** The id of event `index` (API.md §1: `<run>:<seq>`, seq from 1). */
  eventId(index: number): string {
    return `${this.run}:${index + 1}`;
  }

  /** The id of the last event logged, or null when none is. */
  get lastEventId(): string | null {
    return this.entries.length > 0 ? this.eventId(this.entries.length - 1) : null;
  }

  /** Event `i` (a bare string is a text delta); i < length. */
  entryAt(i: number): LogEntry {
    const e = this.entries[i]!;
    return typeof e === "number" ? unpackDelta(this.packedText!, e) : e;
  }

  /**
   * Nobody is reading: drops the shared encodings (a replay makes them again) and packs a
   * finished log's deltas (see packDeltas): it stays as long as its session does.
   */
  settle(): void {
    this.sseShared = null;
    this.wsFrames = null;
    if (!this.ended || this.packTried) return;
    this.packTried = true; // once: a log too long to pack is not joined again at every sweep
    this.packedText = packDeltas(this.entries);
  }

  /** True once the terminal event is in the log. */
  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Logs `event`; false when it was not logged: the log has ended (exactly one terminal event,
   * last), or it is over its limits and the event is not one that closes the run.
   */
  append(event: AgentEvent): boolean {
    if (this.ended) return false;
    if (isTerminal(event)) this.ended = true;
    else {
      const size = eventBytes(event);
      if (!this.over && (this.entries.length + CLOSING_EVENTS >= this.limits.maxEvents || this.bytes + size > this.limits.maxBytes)) {
        this.over = true;
      }
      if (this.over && !this.closingEventFits(event)) return false;
      this.bytes += size;
      if (event.type === "block_start") this.blockOpen = true;
      else if (event.type === "block_end") this.blockOpen = false;
    }
    this.entries.push(event.type === "text" ? event.content : event);
    if (this.soleWaiter !== null || this.waiters !== null) {
      if (this.ended) {
        if (this.queuedForWake) {
          toWake.delete(this);
          this.queuedForWake = false;
        }
        this.wakeAll();
      } else scheduleWake(this);
    }
    return true;
  }

  /** Wakes every waiting subscriber; they then take all that was logged since, in one go. */
  wakeAll(): void {
    const sole = this.soleWaiter;
    const waiters = this.waiters;
    this.soleWaiter = null;
    this.waiters = null;
    sole?.logGrew();
    if (waiters !== null) for (const reader of waiters) reader.logGrew();
  }

  /** After an overflow only the open block's end and `usage` get in, leaving the last slot to the terminal event. */
  private closingEventFits(event: AgentEvent): boolean {
    if (this.entries.length >= this.limits.maxEvents - 1) return false;
    return event.type === "usage" || (event.type === "block_end" && this.blockOpen);
  }

  /** Calls `reader.logGrew()` once when the log next grows or ends (forget it with offNext). */
  onNext(reader: LogReader): void {
    if (this.soleWaiter === null && this.waiters === null) this.soleWaiter = reader;
    else (this.waiters ??= []).push(reader);
  }

  /** Forgets a reader given to onNext that has not been woken. */
  offNext(reader: LogReader): void {
    if (this.soleWaiter === reader) {
      this.soleWaiter = null;
      return;
    }
    const waiters = this.waiters;
    if (waiters === null) return;
    const i = waiters.indexOf(reader);
    if (i < 0) return;
    if (waiters.length === 1) this.waiters = null;
    else waiters.splice(i, 1);
  }
}

/** What an event costs the log, roughly: its strings plus a fixed overhead (cheap: no encoding). */
function eventBytes(e: AgentEvent): number {
  const OVERHEAD = 48;
  switch (e.type) {
    case "text":
    case "thinking":
      return OVERHEAD + e.content.length;
    case "tool_delta":
      return OVERHEAD + e.name.length + e.args.length;
    case "tool_exec":
      return OVERHEAD + e.id.length + e.name.length + (JSON.stringify(e.args)?.length ?? 4);
    case "tool_result":
      return OVERHEAD + e.id.length + e.name.length + e.result.length;
    default:
      return OVERHEAD * 2;
  }
}
