import { RunStop } from "../agent/abort.ts";
import type { BondServer } from "./app.ts";

/** Close code for "going away" (RFC 6455). */
const WS_GOING_AWAY = 1001;
const FLUSH_WAIT_MS = 2000;

/**
 * Graceful stop (API.md §4): refuse new runs at once, let running runs finish
 * within the grace, cancel the rest with a terminal event, let streams flush it,
 * then close every connection. `app.stop()` alone would wait forever on open streams (TRAPS #14).
 */
export async function shutdownBondServer(app: BondServer, graceMs = app.bond.config.shutdown_grace_seconds * 1000): Promise<void> {
  const runtime = app.bond;
  if (runtime.shuttingDown) return;
  runtime.shuttingDown = true;
  const running = [...runtime.sessions.runningRuns];
  await settleWithin(Promise.all(running.map((r) => r.finished)), graceMs);
  for (const run of runtime.sessions.runningRuns) run.cancel(new RunStop("server shutting down"));
  await settleWithin(Promise.all(running.map((r) => r.finished)), FLUSH_WAIT_MS);
  // Streams end by themselves after their terminal event; give them a moment to write it out.
  const deadline = Date.now() + FLUSH_WAIT_MS;
  while ((runtime.sseStreams > 0 || runtime.wsSubscribers > 0) && Date.now() < deadline) await Bun.sleep(20);
  for (const close of runtime.sockets) close(WS_GOING_AWAY, "server shutting down");
  await Bun.sleep(50);
  await app.stop(true);
  runtime.dispose();
}

function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
