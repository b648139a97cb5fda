import { afterAll, describe, expect, test } from "bun:test";
import { ask, getJson, startServer, waitUntil, type TestServer } from "../helpers/server.ts";
import { openSse } from "../helpers/sse.ts";
import { openWs } from "../helpers/ws.ts";
import { checkRunInvariants, fromSse, fromWs } from "../helpers/invariants.ts";
import type { Run } from "../../src/sessions/run.ts";

/**
 * A bounded soak: a few hundred concurrent clients over SSE and WS for ~20 s, each run ended
 * at random by reading to the end, disconnecting, cancelling, resuming or deleting. Afterwards,
 * once sessions expire, everything the server tracks returns to its baseline.
 */

const SOAK_MS = Number(process.env.SOAK_MS ?? 20_000);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 300);
const MiB = 1024 * 1024;

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** A small seeded PRNG (mulberry32): the soak is random but reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function memory(): { heapUsed: number; rss: number } {
  Bun.gc(true);
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

interface Tally {
  runs: number;
  completed: number;
  dropped: number;
  cancelled: number;
  resumed: number;
  deleted: number;
  refused: number;
}

const PROMPTS = ["Tell me about the sea", "What is 12*7?", "My name is Kim.", "What is my name?", "Explain streams briefly", "What time is it?"];

async function sseClient(s: TestServer, random: () => number, tally: Tally, until: number): Promise<void> {
  let sessionId: string | undefined;
  while (Date.now() < until) {
    const res = await ask(s.url, sessionId && random() < 0.5 ? { prompt: pick(random, PROMPTS), session_id: sessionId } : { prompt: pick(random, PROMPTS) });
    if (res.status !== 200) {
      tally.refused++; // 409 when a cancelled run has not quite finished: fine, try a new session
      sessionId = undefined;
      continue;
    }
    tally.runs++;
    sessionId = res.json.session_id as string;
    const stream = await openSse(`${s.url}/stream/${sessionId}`);
    const roll = random();
    if (roll < 0.45) {
      await stream.done;
      checkRunInvariants(fromSse(stream.events));
      tally.completed++;
    } else if (roll < 0.6) {
      await Bun.sleep(random() * 200);
      stream.abort(); // a client that just goes away: the run is cancelled after the grace
      tally.dropped++;
    } else if (roll < 0.75) {
      await Bun.sleep(random() * 150);
      await fetch(`${s.url}/sessions/${sessionId}/cancel`, { method: "POST" });
      await stream.done;
      checkRunInvariants(fromSse(stream.events));
      tally.cancelled++;
    } else if (roll < 0.9) {
      await stream.waitForEvents(1 + Math.floor(random() * 10)).catch(() => {});
      stream.abort();
      const last = stream.events.at(-1)?.id;
      const resumed = await openSse(`${s.url}/stream/${sessionId}`, last ? { "last-event-id": last } : {});
      await resumed.done;
      const all = fromSse([...stream.events, ...resumed.events]);
      if (resumed.status === 200) checkRunInvariants(all);
      tally.resumed++;
    } else {
      await Bun.sleep(random() * 100);
      stream.abort();
      await fetch(`${s.url}/sessions/${sessionId}`, { method: "DELETE" });
      sessionId = undefined;
      tally.deleted++;
    }
  }
}

async function wsClient(s: TestServer, random: () => number, tally: Tally, until: number): Promise<void> {
  let ws = await openWs(s.wsUrl);
  let sessionId: string | undefined;
  try {
    while (Date.now() < until) {
      const from = ws.frames.length;
      ws.send(sessionId && random() < 0.5 ? { prompt: pick(random, PROMPTS), session_id: sessionId } : { prompt: pick(random, PROMPTS), new_session: true });
      const first = await ws.waitFor((f) => f.t === "session" || (f.t === "error" && f.i === undefined), from);
      if (ws.frames[first]!.t === "error") {
        tally.refused++;
        sessionId = undefined;
        continue;
      }
      tally.runs++;
      sessionId = ws.frames[first]!.session_id as string;
      const roll = random();
      if (roll < 0.45) {
        const done = await ws.waitFor((f) => f.t === "done", first);
        checkRunInvariants(fromWs(ws.frames.slice(first, done)));
        tally.completed++;
      } else if (roll < 0.6) {
        await Bun.sleep(random() * 200);
        ws.close(); // gone mid-run
        ws = await openWs(s.wsUrl);
        tally.dropped++;
      } else if (roll < 0.75) {
        await Bun.sleep(random() * 150);
        ws.send({ type: "cancel" });
        // The run ends either way (cancelled, or it had completed: then the cancel is refused).
        await ws.waitFor((f) => f.t === "done", first);
        tally.cancelled++;
      } else {
        await Bun.sleep(random() * 150);
        const seen = ws.frames.slice(first).filter((f) => typeof f.i === "string");
        ws.close();
        ws = await openWs(s.wsUrl);
        const at = ws.frames.length;
        ws.send({ type: "resume", session_id: sessionId, last_event_id: seen.at(-1)?.i ?? null });
        const done = await ws.waitFor((f) => f.t === "done" || (f.t === "error" && f.i === undefined), at);
        if (ws.frames[done]!.t === "done") checkRunInvariants(fromWs([...seen, ...ws.frames.slice(at, done)]));
        tally.resumed++;
      }
      // Barrier: frames are answered in order, so after the pong no reply to this round can still come.
      const barrier = ws.frames.length;
      ws.send({ type: "ping" });
      await ws.waitFor((f) => f.t === "pong", barrier);
      ws.frames.length = 0; // keep the test process small
    }
  } finally {
    ws.close();
  }
}

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

describe("soak", () => {
  test(`${CLIENTS} concurrent clients for ${SOAK_MS / 1000} s with random disconnects and cancels; everything returns to baseline`, async () => {
    const s = startServer({
      log_level: "silent",
      demo_delay_ms: 5,
      session_timeout_seconds: 2,
      disconnect_grace_seconds: 0.5,
      heartbeat_seconds: 0.5,
      max_concurrent_sessions: 10_000,
    });
    servers.push(s);
    const bond = s.app.bond;

    // Warm up, let it all expire, then take the baseline.
    const warmTally: Tally = { runs: 0, completed: 0, dropped: 0, cancelled: 0, resumed: 0, deleted: 0, refused: 0 };
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? sseClient : wsClient)(s, rng(i + 1000), warmTally, Date.now() + 1000)));
    await waitUntil(() => bond.sessions.size === 0 && bond.sessions.runningRuns.size === 0, 15_000, "warm-up sessions to expire");
    const base = memory();

    const tally: Tally = { runs: 0, completed: 0, dropped: 0, cancelled: 0, resumed: 0, deleted: 0, refused: 0 };
    const until = Date.now() + SOAK_MS;
    let peakStreams = 0;
    let peakRuns = 0;
    // Runs seen while running, to check afterwards that none kept a subscriber.
    let seen = new Set<Run>();
    const sampler = setInterval(() => {
      peakStreams = Math.max(peakStreams, bond.sseStreams + bond.sockets.size);
      peakRuns = Math.max(peakRuns, bond.sessions.runningRuns.size);
      for (const run of bond.sessions.runningRuns) seen.add(run);
    }, 100);
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => (i % 2 ? sseClient : wsClient)(s, rng(i + 1), tally, until)));
    clearInterval(sampler);
    const loaded = memory();

    // Streams, sockets, heartbeats and runs wind down on their own (disconnect grace 0.5 s)…
    await waitUntil(
      () => bond.sseStreams === 0 && bond.sockets.size === 0 && bond.heartbeat.size === 0 && bond.sessions.runningRuns.size === 0,
      15_000,
      "streams, sockets, heartbeats and runs to wind down",
    );
    expect(bond.runQuota.callers).toBe(0);
    expect(seen.size).toBeGreaterThan(CLIENTS);
    expect([...seen].filter((run) => run.subscriberCount > 0 || run.isRunning).length).toBe(0);
    const runsSeen = seen.size;
    seen = new Set(); // let them go before memory is measured
    // …and then the sessions expire (timeout 2 s, swept every second).
    await waitUntil(() => bond.sessions.size === 0, 15_000, "sessions to expire");
    const after = memory();
    expect((await getJson(`${s.url}/health`)).json).toMatchObject({ status: "healthy", sessions: 0, running_runs: 0 });

    console.log(
      `[soak] ${tally.runs} runs (${tally.completed} read to the end, ${tally.dropped} dropped, ${tally.cancelled} cancelled, ` +
        `${tally.resumed} resumed, ${tally.deleted} deleted, ${tally.refused} refused); peak ${peakStreams} open streams, ${peakRuns} running runs, ${runsSeen} runs checked for leftover subscribers; ` +
        `heap ${(base.heapUsed / MiB).toFixed(1)} → ${(loaded.heapUsed / MiB).toFixed(1)} → ${(after.heapUsed / MiB).toFixed(1)} MiB, ` +
        `rss ${(base.rss / MiB).toFixed(1)} → ${(loaded.rss / MiB).toFixed(1)} → ${(after.rss / MiB).toFixed(1)} MiB`,
    );
    expect(tally.runs).toBeGreaterThan(CLIENTS);
    expect(tally.completed).toBeGreaterThan(0);
    expect(tally.dropped + tally.cancelled + tally.resumed).toBeGreaterThan(0);
    expect(peakStreams).toBeGreaterThan(CLIENTS / 3);
    // Back to baseline: what is left is allocator slack, not sessions, runs or streams.
    expect((after.heapUsed - base.heapUsed) / MiB).toBeLessThan(25);
    expect((after.rss - base.rss) / MiB).toBeLessThan(250); // RSS rarely shrinks all the way; a leak would dwarf this
  }, 60_000);
});
