/**
 * Baseline for the benchmark: a minimal hand-written `Bun.serve` server that
 * speaks the Bond subset the scenarios use (POST /ask, GET /stream/{id},
 * WS /ws, GET /health) with no framework, no validation and no event log.
 * It shows what Bun itself can do; every Bond figure is a ratio to it.
 *
 * Bench mode only: every run is one text block of N deltas, D ms apart
 * (BOND_DEMO_BENCH_TOKENS / BOND_DEMO_DELAY_MS): delta k is due at
 * start + (k+1)·D, start being the /ask (or WS prompt) that began the run, like Bond's demo model (which also pauses before the first
 * delta), but on a fixed schedule so drift never accumulates. D=0 means no
 * timer at all.
 *
 *   bun bench/baseline-server.ts [--host 127.0.0.1] [--port 0]
 * prints `listening on http://HOST:PORT` when ready.
 */
import type { ServerWebSocket } from "bun";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const HOST = arg("host") ?? process.env.BOND_HOST ?? "127.0.0.1";
const PORT = Number(arg("port") ?? process.env.BOND_PORT ?? 0);
const N = Number(process.env.BOND_DEMO_BENCH_TOKENS ?? 200);
const D = Number(process.env.BOND_DEMO_DELAY_MS ?? 0);
const HEARTBEAT_MS = Number(process.env.BOND_HEARTBEAT_SECONDS ?? 15) * 1000;
const MODEL = "baseline";

interface Session {
  runs: number;
  /** The run /ask started that no stream has taken yet. */
  pending: BenchRun | null;
}
const sessions = new Map<string, Session>();

/** The ordered events of one bench run: [event name, payload]. */
type Ev = readonly [name: string, payload: Record<string, unknown>];

function delta(k: number): string {
  return `w${k} `;
}

/** Produces the run's events lazily; the caller decides when (schedule) to pull. */
class BenchRun {
  seq = 0;
  private k = 0; // next text delta
  private phase: 0 | 1 | 2 | 3 | 4 | 5 = 0; // start, text, end, usage, complete, done
  private text = "";
  /** When the run started (/ask, as API.md says): delta k is due at t0 + (k+1)·D (no drift). */
  readonly t0 = performance.now();
  constructor(
    readonly run: number,
    private readonly promptTokens: number,
  ) {}
  get done(): boolean {
    return this.phase === 5;
  }
  /** True when the next event is a text delta, which waits for its slot. */
  get waitsForSlot(): boolean {
    return this.phase === 1;
  }
  get nextDelta(): number {
    return this.k;
  }
  next(): Ev {
    this.seq++;
    switch (this.phase) {
      case 0:
        this.phase = N > 0 ? 1 : 2;
        return ["block_start", { kind: "text", idx: 0 }];
      case 1: {
        const c = delta(this.k++);
        this.text += c;
        if (this.k >= N) this.phase = 2;
        return ["text", { content: c }];
      }
      case 2:
        this.phase = 3;
        return ["block_end", { kind: "text", idx: 0 }];
      case 3:
        this.phase = 4;
        return [
          "usage",
          { prompt_tokens: this.promptTokens, completion_tokens: N, total_tokens: this.promptTokens + N, total_cost: null, model: MODEL },
        ];
      default:
        this.phase = 5;
        return ["complete", { data: this.text }];
    }
  }
}

function words(s: string): number {
  const t = s.trim();
  return t ? t.split(/\s+/).length : 0;
}

function startRun(s: Session, prompt: string): BenchRun {
  s.runs++;
  return new BenchRun(s.runs, words(prompt));
}

// ---------- SSE ----------

const enc = new TextEncoder();
const PING = enc.encode(": ping\n\n");
/** Open SSE streams, pinged by ONE shared timer (no per-stream timers). */
const openStreams = new Set<ReadableStreamDefaultController<Uint8Array>>();
setInterval(() => {
  for (const c of openStreams) c.enqueue(PING);
}, HEARTBEAT_MS).unref();

function sseFrame(run: BenchRun, ev: Ev): Uint8Array {
  return enc.encode(`id: ${run.run}:${run.seq}\nevent: ${ev[0]}\ndata: ${JSON.stringify(ev[1])}\n\n`);
}

function sseBody(run: BenchRun): ReadableStream<Uint8Array> {
  let ctl: ReadableStreamDefaultController<Uint8Array> | null = null;
  let timer: Timer | null = null;
  const finish = (c: ReadableStreamDefaultController<Uint8Array>) => {
    openStreams.delete(c);
    c.close();
  };
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        ctl = c;
        openStreams.add(c);
        c.enqueue(enc.encode("retry: 1000\n\n"));
      },
      // Pull-based so a slow client exerts backpressure; D>0 waits for the slot.
      pull(c): Promise<void> | void {
        while (!run.done && (c.desiredSize ?? 1) > 0) {
          if (run.waitsForSlot && D > 0) {
            const due = run.t0 + (run.nextDelta + 1) * D;
            const wait = due - performance.now();
            if (wait > 0) {
              return new Promise<void>((resolve) => {
                timer = setTimeout(() => {
                  timer = null;
                  c.enqueue(sseFrame(run, run.next()));
                  resolve();
                }, wait);
              });
            }
          }
          c.enqueue(sseFrame(run, run.next()));
        }
        if (run.done) finish(c);
      },
      cancel() {
        if (timer) clearTimeout(timer);
        if (ctl) openStreams.delete(ctl);
      },
    },
    { highWaterMark: 64 },
  );
}

// ---------- WebSocket ----------

interface WsData {
  session: string | null;
  busy: boolean;
}

function wsSend(ws: ServerWebSocket<WsData>, run: BenchRun, ev: Ev): void {
  ws.send(JSON.stringify(wsShape(run, ev)));
}

function wsShape(run: BenchRun, ev: Ev): Record<string, unknown> {
  const [name, p] = ev;
  const i = `${run.run}:${run.seq}`;
  if (name === "text") return { t: "text", c: p.content, i };
  return { t: name, ...p, i };
}

function wsRun(ws: ServerWebSocket<WsData>, run: BenchRun): void {
  ws.data.busy = true;
  const step = (): void => {
    while (!run.done) {
      if (run.waitsForSlot && D > 0) {
        const wait = run.t0 + (run.nextDelta + 1) * D - performance.now();
        if (wait > 0) {
          setTimeout(step, wait);
          return;
        }
      }
      wsSend(ws, run, run.next());
    }
    ws.send('{"t":"done"}');
    ws.data.busy = false;
  };
  step();
}

// ---------- HTTP ----------

let nextId = 0;
const json = (body: unknown, status = 200) => Response.json(body, { status });

const server = Bun.serve<WsData>({
  hostname: HOST,
  port: PORT,
  reusePort: false,
  development: false, // as Bond: production mode (no error pages)
  async fetch(req, srv) {
    const url = new URL(req.url);
    const path = url.pathname;
    if (path === "/ask" && req.method === "POST") {
      const body = (await req.json()) as { prompt: string; session_id?: string | null };
      const id = body.session_id ?? `b${++nextId}`;
      let s = sessions.get(id);
      if (!s) sessions.set(id, (s = { runs: 0, pending: null }));
      // The run starts here, as in Bond (API.md: "the run starts at once"); deltas due before
      // the stream connects are sent together when it does. Events are made lazily, on schedule.
      s.pending = startRun(s, body.prompt);
      return json({ session_id: id, stream_url: `/stream/${id}` });
    }
    if (path.startsWith("/stream/")) {
      const s = sessions.get(path.slice(8));
      if (!s) return json({ error: "Session not found or expired" }, 404);
      const run = s.pending;
      if (run === null) return new Response(null, { status: 204 });
      s.pending = null;
      srv.timeout(req, 0); // a silent stream stays open; the heartbeat keeps proxies happy
      return new Response(sseBody(run), {
        headers: { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" },
      });
    }
    if (path === "/ws") {
      if (srv.upgrade(req, { data: { session: null, busy: false } })) return undefined;
      return json({ error: "upgrade failed" }, 400);
    }
    if (path === "/health") return json({ status: "healthy", agent_name: MODEL });
    return json({ error: "not found" }, 404);
  },
  websocket: {
    idleTimeout: 960,
    sendPings: true,
    message(ws, msg) {
      const m = JSON.parse(String(msg)) as { prompt: string; session_id?: string };
      if (ws.data.busy) {
        ws.send('{"t":"error","error":"run in progress","code":"busy"}');
        return;
      }
      const id = m.session_id ?? ws.data.session ?? `b${++nextId}`;
      ws.data.session = id;
      let s = sessions.get(id);
      if (!s) sessions.set(id, (s = { runs: 0, pending: null }));
      ws.send(JSON.stringify({ t: "session", session_id: id }));
      wsRun(ws, startRun(s, m.prompt));
    },
  },
});

console.log(`listening on http://${server.hostname}:${server.port}`);

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    server.stop(true);
    process.exit(0);
  });
}
