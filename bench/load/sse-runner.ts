/**
 * Picks the HTTP client a scenario's SSE runs use: `fetch` (sse-client.ts) or
 * the lean HTTP/1.1 client (lean-sse-client.ts, keep-alive sockets from one
 * pool per scenario). Each scenario has a default; BENCH_SSE_CLIENT=fetch|lean
 * in the worker's environment overrides it, to compare the two on a side.
 * Both servers of a comparison are always measured with the same client.
 */
import { ConnPool } from "./http1.ts";
import { leanSseRun, type LeanSseRunOptions } from "./lean-sse-client.ts";
import { type SseRunResult, sseRun } from "./sse-client.ts";

export type SseClientKind = "fetch" | "lean";

export interface SseRunner {
  readonly kind: SseClientKind;
  run(o: LeanSseRunOptions): Promise<SseRunResult>;
  close(): void;
}

export function sseRunner(base: string, preferred: SseClientKind): SseRunner {
  const env = process.env.BENCH_SSE_CLIENT;
  const kind: SseClientKind = env === "fetch" || env === "lean" ? env : preferred;
  if (kind === "fetch") return { kind, run: (o) => sseRun({ ...o, base }), close: () => {} };
  const pool = new ConnPool(base);
  return { kind, run: (o) => leanSseRun(pool, o), close: () => pool.close() };
}
