/** Reconnect pacing: exponential backoff with jitter, and an abortable sleep. */
import type { ReconnectOptions } from "./types.ts";

export interface ReconnectPolicy {
  maxAttempts: number;
  baseDelayMs: number | undefined;
  maxDelayMs: number;
}

export function reconnectPolicy(options: ReconnectOptions = {}): ReconnectPolicy {
  return {
    maxAttempts: Math.max(0, Math.floor(options.maxAttempts ?? 5)),
    baseDelayMs: options.baseDelayMs,
    maxDelayMs: Math.max(0, options.maxDelayMs ?? 10_000),
  };
}

/**
 * Delay before reconnect `attempt` (1-based): base·2^(attempt−1), capped, then "equal jitter" —
 * a uniform pick in [d/2, d] — so many clients dropped together do not come back in lockstep.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return exp / 2 + random() * (exp / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
