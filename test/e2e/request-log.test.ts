import { afterAll, describe, expect, test } from "bun:test";
import type { ServerConfig } from "../../src/config.ts";
import { PromptModel } from "../helpers/prompt-model.ts";
import { killSpawned, spawnBond } from "../helpers/process.ts";
import { askOk, startServer, waitUntil, type TestServer } from "../helpers/server.ts";
import { readSse } from "../helpers/sse.ts";
import { openWs } from "../helpers/ws.ts";

type Line = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An in-process server whose log lines are captured (parsed: each must be one JSON object). */
function logged(config: Partial<ServerConfig>): { s: TestServer; raw: string[]; lines: () => Line[] } {
  const raw: string[] = [];
  const s = startServer({ log_level: "info", ...config }, { model: new PromptModel(), logger: (l) => raw.push(l) });
  return { s, raw, lines: () => raw.map((l) => JSON.parse(l) as Line) };
}

const requests = (lines: Line[]) => lines.filter((l) => l.msg === "request");

async function waitForLine(lines: () => Line[], match: (l: Line) => boolean, what: string): Promise<Line> {
  let found: Line | undefined;
  await waitUntil(() => (found = lines().find(match)) !== undefined, 5000, what);
  return found!;
}

describe("request and run log lines", () => {
  test("one line per request with id, method, route, status, duration and session; one per run", async () => {
    const { s, raw, lines } = logged({});
    try {
      const prompt = "PROMPT-MARKER-7781 hello";
      const res = await fetch(`${s.url}/ask`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "client-req-1" },
        body: JSON.stringify({ prompt }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toBe("client-req-1");
      const id = ((await res.json()) as { session_id: string }).session_id;
      await readSse(`${s.url}/stream/${id}`, { "x-request-id": "client-req-2" });

      const ask = await waitForLine(lines, (l) => l.request_id === "client-req-1", "the /ask line");
      expect(ask).toEqual({
        time: expect.any(String),
        level: "info",
        msg: "request",
        request_id: "client-req-1",
        method: "POST",
        route: "/ask",
        status: 200,
        duration_ms: expect.any(Number),
        session_id: id,
      });
      const stream = await waitForLine(lines, (l) => l.request_id === "client-req-2", "the /stream line");
      expect(stream).toMatchObject({ route: "/stream/:session_id", status: 200, session_id: id, method: "GET" });

      const run = await waitForLine(lines, (l) => l.msg === "run", "the run line");
      expect(run).toEqual({
        time: expect.any(String),
        level: "info",
        msg: "run",
        session_id: id,
        run: 1,
        status: "completed",
        duration_ms: expect.any(Number),
        events: expect.any(Number),
        prompt_tokens: 3,
        completion_tokens: 2,
        total_tokens: 5,
        cost_usd: 0.25,
      });
      expect(run.events as number).toBeGreaterThan(3);
      // Prompts never reach the log.
      expect(raw.join("\n")).not.toContain("PROMPT-MARKER-7781");
      // Each request is logged once.
      expect(requests(lines()).filter((l) => l.request_id === "client-req-1")).toHaveLength(1);
    } finally {
      await s.stop();
    }
  });

  test("errors, 404s and WebSocket upgrades are logged too; an errored run logs at warn", async () => {
    const { s, lines } = logged({});
    try {
      await fetch(`${s.url}/nowhere/${crypto.randomUUID()}`, { headers: { "x-request-id": "r-404" } });
      await fetch(`${s.url}/ask`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": "r-400" }, body: "{bad" });
      await fetch(`${s.url}/sessions/some-session`, { headers: { "x-request-id": "r-miss" } });
      const ws = await openWs(s.wsUrl);
      ws.close();
      await ws.closed;
      const failing = await askOk(s.url, "please fail");

      expect(await waitForLine(lines, (l) => l.request_id === "r-404", "404")).toMatchObject({ route: "unmatched", status: 404 });
      expect(await waitForLine(lines, (l) => l.request_id === "r-400", "400")).toMatchObject({ route: "/ask", status: 400 });
      expect(await waitForLine(lines, (l) => l.request_id === "r-miss", "missing session")).toMatchObject({
        route: "/sessions/:session_id",
        status: 404,
        session_id: "some-session",
      });
      expect(await waitForLine(lines, (l) => l.route === "/ws", "the upgrade")).toMatchObject({ method: "GET", status: 101 });
      expect(await waitForLine(lines, (l) => l.msg === "run", "the failed run")).toMatchObject({
        level: "warn",
        status: "error",
        session_id: failing,
      });
    } finally {
      await s.stop();
    }
  });

  test("health checks and scrapes log at debug only", async () => {
    const info = logged({});
    const debug = logged({ log_level: "debug" });
    try {
      for (const { s } of [info, debug]) {
        await fetch(`${s.url}/health`);
        await fetch(`${s.url}/metrics`);
      }
      await waitUntil(() => requests(debug.lines()).length === 2, 5000, "debug lines");
      expect(requests(debug.lines()).map((l) => [l.route, l.level])).toEqual([
        ["/health", "debug"],
        ["/metrics", "debug"],
      ]);
      await Bun.sleep(50);
      expect(requests(info.lines())).toEqual([]);
    } finally {
      await info.s.stop();
      await debug.s.stop();
    }
  });

  test("log_level warn drops request lines; silent drops everything", async () => {
    const warn = logged({ log_level: "warn" });
    const silent = logged({ log_level: "silent" });
    try {
      for (const { s } of [warn, silent]) {
        await askOk(s.url, "fine");
        await askOk(s.url, "please fail");
      }
      await waitForLine(warn.lines, (l) => l.msg === "run", "the warn-level run line");
      await Bun.sleep(100);
      expect(warn.lines().map((l) => [l.msg, l.level, l.status])).toEqual([["run", "warn", "error"]]);
      expect(silent.raw).toEqual([]);
    } finally {
      await warn.s.stop();
      await silent.s.stop();
    }
  });

  test("keys and Authorization headers never reach the log", async () => {
    const { s, raw, lines } = logged({ api_keys: ["KEY-MARKER-5521"] });
    try {
      const denied = await fetch(`${s.url}/ask`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer WRONG-KEY-MARKER", "x-request-id": "r-401" },
        body: JSON.stringify({ prompt: "x" }),
      });
      expect(denied.status).toBe(401);
      expect(denied.headers.get("x-request-id")).toBe("r-401");
      const res = await fetch(`${s.url}/ask`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer KEY-MARKER-5521" },
        body: JSON.stringify({ prompt: "x" }),
      });
      expect(res.status).toBe(200);
      const { stream_url } = (await res.json()) as { stream_url: string };
      await readSse(`${s.url}${stream_url}`, { authorization: "Bearer KEY-MARKER-5521" });
      await waitForLine(lines, (l) => l.msg === "run", "the run line");
      expect(await waitForLine(lines, (l) => l.request_id === "r-401", "the 401")).toMatchObject({ route: "/ask", status: 401 });
      const all = raw.join("\n");
      expect(all).not.toContain("KEY-MARKER");
      expect(all.toLowerCase()).not.toContain("authorization");
      expect(all).not.toContain("Bearer");
      expect(all).not.toContain("token="); // a stream URL's query is never logged
    } finally {
      await s.stop();
    }
  });
});

describe("X-Request-Id", () => {
  const { s } = logged({ log_level: "silent", max_body_bytes: 1024 });
  afterAll(() => s.stop());

  test("a valid incoming id is echoed on every kind of response", async () => {
    const id = await askOk(s.url, "hi");
    await readSse(`${s.url}/stream/${id}`);
    const cases: [string, RequestInit, number][] = [
      [`/health`, {}, 200],
      [`/metrics`, {}, 200],
      [`/openapi.json`, {}, 200],
      [`/stream/${id}`, { headers: { "last-event-id": "1:999999" } }, 400],
      [`/stream/${id}?last_event_id=${encodeURIComponent(await lastEventId(s.url, id))}`, {}, 204],
      [`/stream/no-such-session`, {}, 404],
      [`/nowhere`, {}, 404],
      [`/ask`, { method: "POST", headers: { "content-type": "application/json" }, body: "{bad" }, 400],
      [`/ask`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "x".repeat(2000) }) }, 413],
      [`/ask`, { method: "OPTIONS", headers: { origin: "http://example.test", "access-control-request-method": "POST" } }, 204],
    ];
    for (const [path, init, status] of cases) {
      const rid = `rid-${path.length}-${status}`;
      const res = await fetch(`${s.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), "x-request-id": rid } });
      await res.arrayBuffer();
      expect([path, res.status, res.headers.get("x-request-id")]).toEqual([path, status, rid]);
    }
  });

  test("on a live SSE stream too", async () => {
    const id = await askOk(s.url, "slow one");
    const controller = new AbortController();
    const res = await fetch(`${s.url}/stream/${id}`, { headers: { "x-request-id": "sse-rid" }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    expect(res.headers.get("x-request-id")).toBe("sse-rid");
    controller.abort();
    await fetch(`${s.url}/sessions/${id}/cancel`, { method: "POST" });
  });

  test("without one, or with one that is too long or not printable ASCII, a new UUID is made", async () => {
    const ids = new Set<string>();
    for (const sent of [null, "x".repeat(129), "caf\u00e9"]) {
      const res = await fetch(`${s.url}/health`, { headers: sent === null ? {} : { "x-request-id": sent } });
      const got = res.headers.get("x-request-id") ?? "";
      expect(got).toMatch(UUID);
      ids.add(got);
    }
    expect(ids.size).toBe(3);
  });

  test("browsers may read it: CORS exposes it", async () => {
    const res = await fetch(`${s.url}/health`, { headers: { origin: "http://example.test" } });
    expect(res.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("x-request-id");
  });
});

describe("the server process", () => {
  afterAll(() => killSpawned());

  test("writes JSON log lines to stdout at the configured level", async () => {
    const proc = await spawnBond({ args: ["--demo-delay-ms", "0"] });
    const quiet = await spawnBond({ env: { BOND_LOG_LEVEL: "silent" } });
    try {
      for (const p of [proc, quiet]) {
        await fetch(`${p.url}/nowhere`, { headers: { "x-request-id": "proc-rid" } });
        await askOk(p.url, "hello");
      }
      await proc.waitForStdout('"msg":"run"', 10_000);
      const json = proc
        .stdout()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Line);
      expect(json.find((l) => l.request_id === "proc-rid")).toMatchObject({ level: "info", msg: "request", route: "unmatched", status: 404 });
      expect(json.find((l) => l.msg === "run")).toMatchObject({ status: "completed", run: 1 });
      await Bun.sleep(100);
      expect(quiet.stdout().split("\n").filter((l) => l.startsWith("{"))).toEqual([]);
    } finally {
      proc.signal("SIGTERM");
      quiet.signal("SIGTERM");
      await Promise.all([proc.waitForExit(10_000), quiet.waitForExit(10_000)]);
    }
  });
});

async function lastEventId(base: string, id: string): Promise<string> {
  const res = await fetch(`${base}/sessions/${id}`);
  return ((await res.json()) as { last_event_id: string }).last_event_id;
}
