/**
 * Runs per minute per caller (API key, or IP without auth), over HTTP and WS
 * together: a token bucket that refills continuously, so bursts are bounded too.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(private readonly perMinute: number) {
    this.perMs = perMinute / 60_000;
  }

  /** Takes one token; returns 0 when allowed, else the seconds to wait. */
  take(caller: string, now = Date.now()): number {
    const bucket = this.buckets.get(caller) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.buckets.set(caller, bucket);
      if (this.buckets.size > 10_000) this.prune(now);
      return 0;
    }
    this.buckets.set(caller, bucket);
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
  }

  /** Full buckets carry no information: drop them so the map stays small. */
  private prune(now: number): void {
    for (const [caller, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.perMinute) this.buckets.delete(caller);
    }
  }
}
