import { describe, expect, test } from "bun:test";
import { AbortSwitch, unwatchAbort, watchAbort } from "../../src/agent/abort-switch.ts";

function watcher() {
  const w = { told: 0, handleEvent() { w.told++; } };
  return w;
}

describe("AbortSwitch and watchAbort", () => {
  test("watchers of a switch's signal are told once, after the signal's own listeners, and not as listeners", () => {
    const sw = new AbortSwitch();
    const order: string[] = [];
    sw.signal.addEventListener("abort", () => order.push(`listener saw aborted=${sw.signal.aborted}`));
    const a = { handleEvent: () => order.push("a") };
    const b = { handleEvent: () => order.push("b") };
    const c = { handleEvent: () => order.push("c") };
    watchAbort(sw.signal, a);
    watchAbort(sw.signal, b);
    watchAbort(sw.signal, c);
    unwatchAbort(sw.signal, b);
    sw.abort(new Error("stop"));
    sw.abort(new Error("again"));
    expect(order).toEqual(["listener saw aborted=true", "a", "c"]);
    expect((sw.signal.reason as Error).message).toBe("stop");
  });

  test("one watcher, unwatched, is not told", () => {
    const sw = new AbortSwitch();
    const w = watcher();
    watchAbort(sw.signal, w);
    unwatchAbort(sw.signal, w);
    sw.abort("x");
    expect(w.told).toBe(0);
  });

  test("a signal no switch owns (or a released switch's) is watched with a real listener", () => {
    const foreign = new AbortController();
    const w = watcher();
    watchAbort(foreign.signal, w);
    foreign.abort();
    foreign.abort();
    expect(w.told).toBe(1);

    const released = new AbortSwitch();
    released.release();
    const late = watcher();
    watchAbort(released.signal, late);
    released.abort("after release");
    expect(late.told).toBe(1);

    const gone = new AbortController();
    const u = watcher();
    watchAbort(gone.signal, u);
    unwatchAbort(gone.signal, u);
    gone.abort();
    expect(u.told).toBe(0);
  });

  test("releasing forgets the watchers of a switch that was never aborted", () => {
    const sw = new AbortSwitch();
    const w = watcher();
    watchAbort(sw.signal, w);
    sw.release();
    sw.abort("late");
    expect(w.told).toBe(0);
    expect(sw.signal.aborted).toBe(true);
  });
});
