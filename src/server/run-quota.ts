import type { Run } from "../sessions/run.ts";

/** Who runs count against: the caller is read only when there is a limit (without auth it costs an address lookup). */
export interface QuotaHolder {
  readonly caller: string;
}

/**
 * Concurrent running runs per caller (API key, or IP without auth), over HTTP and WS
 * together. A caller's count drops when its run finishes, whatever way it ends.
 */
export class RunQuota {
  private readonly running = new Map<string, number>();

  /** `max`: runs one caller may have running at once; 0 = no limit. */
  constructor(private readonly max: number) {}

  /** True when `who` may start one more run now (spends nothing). */
  available(who: QuotaHolder): boolean {
    return this.max === 0 || (this.running.get(who.caller) ?? 0) < this.max;
  }

  /** Counts `run` against `who` until it finishes. */
  hold(who: QuotaHolder, run: Run): void {
    if (this.max === 0) return; // no limit: nothing to count (saves a promise reaction per run)
    const caller = who.caller;
    this.running.set(caller, (this.running.get(caller) ?? 0) + 1);
    void run.finished.then(() => {
      const left = (this.running.get(caller) ?? 1) - 1;
      if (left > 0) this.running.set(caller, left);
      else this.running.delete(caller); // the map holds only callers with runs in progress
    });
  }

  /** Runs `caller` has in progress. */
  count(caller: string): number {
    return this.running.get(caller) ?? 0;
  }

  /** Callers with at least one run in progress (for tests and metrics). */
  get callers(): number {
    return this.running.size;
  }
}
