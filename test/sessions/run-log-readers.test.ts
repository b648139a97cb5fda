import { describe, expect, test } from "bun:test";
import { RunLog, type LogReader } from "../../src/sessions/run-log.ts";

/** A reader that counts its wake-ups and, when asked, waits again from inside one (as a subscriber does). */
class Reader implements LogReader {
  woken = 0;
  constructor(
    private readonly log: RunLog,
    private readonly rewait = false,
  ) {}
  logGrew(): void {
    this.woken++;
    if (this.rewait) this.log.onNext(this);
  }
}

const text = (content: string) => ({ type: "text" as const, content });
const END = { type: "complete" as const, data: "" };

/** Waiting readers are woken on the next turn after growth, and at once by the end. */
async function grow(log: RunLog, content: string): Promise<void> {
  log.append(text(content));
  await new Promise((resolve) => setImmediate(resolve));
}

describe("readers waiting in a run log", () => {
  test("each waiting reader is woken once per growth, whether one waits or several", async () => {
    const log = new RunLog(1);
    const a = new Reader(log);
    log.onNext(a);
    await grow(log, "x");
    expect(a.woken).toBe(1);
    await grow(log, "y"); // a did not wait again
    expect(a.woken).toBe(1);

    const [b, c, d] = [new Reader(log), new Reader(log), new Reader(log)];
    log.onNext(b);
    log.onNext(c);
    log.onNext(d);
    await grow(log, "z");
    expect([b.woken, c.woken, d.woken]).toEqual([1, 1, 1]);
  });

  test("a reader that leaves is not woken, whichever slot it waited in; the others still are", async () => {
    const log = new RunLog(1);
    const [first, second, third] = [new Reader(log), new Reader(log), new Reader(log)];
    log.onNext(first);
    log.onNext(second);
    log.onNext(third);
    log.offNext(first); // the first to wait
    log.offNext(second); // one of the later ones
    log.offNext(second); // twice: no effect
    await grow(log, "x");
    expect([first.woken, second.woken, third.woken]).toEqual([0, 0, 1]);

    const lone = new Reader(log);
    log.onNext(lone);
    log.offNext(lone);
    await grow(log, "y");
    expect(lone.woken).toBe(0);
  });

  test("readers that wait again while being woken are woken by the next growth, and the end wakes them at once", async () => {
    const log = new RunLog(1);
    const readers = [new Reader(log, true), new Reader(log, true), new Reader(log, true)];
    for (const r of readers) log.onNext(r);
    await grow(log, "x");
    await grow(log, "y");
    expect(readers.map((r) => r.woken)).toEqual([2, 2, 2]);
    log.append(END); // no turn awaited
    expect(readers.map((r) => r.woken)).toEqual([3, 3, 3]);
  });
});
