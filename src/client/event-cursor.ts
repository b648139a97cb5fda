/**
 * Exactly-once delivery across reconnects: remembers the last event id handed to the caller and
 * decides, for each event the server (re)sends, whether it is new. Ids are "<run>:<seq>" (API.md §1).
 */
import { BondError } from "./errors.ts";

export interface EventId {
  run: number;
  seq: number;
}

export function parseEventId(id: string): EventId | null {
  const m = /^(\d+):(\d+)$/.exec(id);
  if (!m) return null;
  return { run: Number(m[1]), seq: Number(m[2]) };
}

export type Verdict = "new" | "seen";

export class EventCursor {
  private last: EventId | null;
  private lastText: string | null;
  /** The run this stream follows, fixed by the first event accepted. */
  private run: number | null = null;

  /** `after`: resume after this id (events up to it count as seen). */
  constructor(after?: string) {
    this.last = after === undefined ? null : parseEventId(after);
    this.lastText = this.last ? (after ?? null) : null;
  }

  get lastEventId(): string | null {
    return this.lastText;
  }

  /** Classify `id` and, if new, advance past it. Throws when the server has moved on to a newer run. */
  accept(id: string): Verdict {
    const next = parseEventId(id);
    if (!next) throw new BondError(`malformed event id "${id}"`, { code: "protocol" });
    if (this.run === null) {
      // Before the first event a newer run is fine: resuming with an id of an older run replays the latest.
      if (this.last && !after(next, this.last)) return "seen";
      this.run = next.run;
    } else if (next.run !== this.run) {
      if (next.run < this.run) return "seen";
      throw new BondError("the session started a new run before this one was fully received", { code: "run_superseded" });
    } else if (this.last && !after(next, this.last)) {
      return "seen";
    }
    this.last = next;
    this.lastText = id;
    return "new";
  }
}

function after(a: EventId, b: EventId): boolean {
  return a.run > b.run || (a.run === b.run && a.seq > b.seq);
}
