import { describe, expect, test } from "bun:test";
import { backoffDelay, sleep } from "../../src/client/backoff.ts";
import { BondError } from "../../src/client/errors.ts";
import { EventCursor, parseEventId } from "../../src/client/event-cursor.ts";

describe("EventCursor", () => {
  test("passes new ids, drops replayed ones", () => {
    const c = new EventCursor();
    expect(["2:1", "2:2", "2:1", "2:2", "2:3", "1:9"].map((id) => c.accept(id))).toEqual(["new", "new", "seen", "seen", "new", "seen"]);
    expect(c.lastEventId).toBe("2:3");
  });

  test("resuming with an older run's id accepts the latest run from its start", () => {
    const c = new EventCursor("1:40");
    expect(c.accept("1:40")).toBe("seen");
    expect(c.accept("2:1")).toBe("new");
  });

  test("a newer run after this one started is an error, not silently mixed in", () => {
    const c = new EventCursor();
    c.accept("1:1");
    expect(() => c.accept("2:1")).toThrow(BondError);
  });

  test("malformed ids", () => {
    expect(parseEventId("1:2")).toEqual({ run: 1, seq: 2 });
    expect(parseEventId("x")).toBeNull();
    expect(() => new EventCursor().accept("1-2")).toThrow(BondError);
  });
});

describe("backoff", () => {
  test("exponential with equal jitter, capped", () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(4, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(40, 100, 1000, () => 1)).toBe(1000);
  });

  test("sleep rejects at once on abort", async () => {
    const ctl = new AbortController();
    const t0 = performance.now();
    const p = sleep(10_000, ctl.signal);
    ctl.abort(new Error("stop"));
    await expect(p).rejects.toThrow("stop");
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
