import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PromptModel } from "../helpers/prompt-model.ts";
import { parseExposition, scrape, value, type Exposition } from "../helpers/prometheus.ts";
import { askOk, startServer, waitUntil, type TestServer } from "../helpers/server.ts";
import { readSse } from "../helpers/sse.ts";
import { openWs, runFrames } from "../helpers/ws.ts";

/** Counter changes between two scrapes. */
const delta = (before: Exposition, after: Exposition, name: string, labels: Record<string, string> = {}) =>
  value(after, name, labels) - value(before, name, labels);

async function waitForMetric(base: string, check: (e: Exposition) => boolean, what: string, headers?: Record<string, string>): Promise<Exposition> {
  let last: Exposition | null = null;
  await waitUntil(async () => check((last = await scrape(base, headers))), 10_000, what);
  return last!;
}

describe("GET /metrics", () => {
  let s: TestServer;
  beforeAll(() => {
    s = startServer({}, { model: new PromptModel() });
  });
  afterAll(() => s.stop());

  test("Prometheus text format 0.0.4; every line parses, every family has HELP and TYPE", async () => {
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const exp = parseExposition(await res.text());
    for (const [name, type] of [
      ["bond_sessions_active", "gauge"],
      ["bond_sessions_created_total", "counter"],
      ["bond_sessions_expired_total", "counter"],
      ["bond_runs_started_total", "counter"],
      ["bond_runs_finished_total", "counter"],
      ["bond_runs_running", "gauge"],
      ["bond_stream_subscribers", "gauge"],
      ["bond_events_sent_total", "counter"],
      ["bond_run_events_total", "counter"],
      ["bond_tokens_total", "counter"],
      ["bond_cost_usd_total", "counter"],
      ["bond_http_requests_total", "counter"],
      ["bond_run_duration_seconds", "histogram"],
    ] as const) {
      expect([name, exp.types.get(name)]).toEqual([name, type]);
    }
    // Outcomes and transports show from the start, at 0.
    for (const status of ["completed", "error", "cancelled"]) expect(exp.samples.has(`bond_runs_finished_total{status="${status}"}`)).toBe(true);
    expect(exp.samples.get('bond_stream_subscribers{transport="sse"}')).toBe(0);
    expect(exp.samples.get('bond_stream_subscribers{transport="ws"}')).toBe(0);
    expect(exp.samples.get('bond_info{agent="test-agent",model="prompt-model",version="0.1.0"}')).toBe(1);
  });

  test("a completed run streamed over SSE: sessions, runs, events, tokens, cost, duration, requests", async () => {
    const before = await scrape(s.url);
    const id = await askOk(s.url, "hi");
    const stream = await readSse(`${s.url}/stream/${id}`);
    const n = stream.events.length;
    expect(stream.events.at(-1)?.event).toBe("complete");
    const after = await waitForMetric(s.url, (e) => delta(before, e, "bond_runs_finished_total", { status: "completed" }) === 1, "run counted");
    expect(delta(before, after, "bond_sessions_created_total")).toBe(1);
    expect(delta(before, after, "bond_runs_started_total")).toBe(1);
    expect(delta(before, after, "bond_runs_finished_total", { status: "error" })).toBe(0);
    expect(delta(before, after, "bond_run_events_total")).toBe(n);
    expect(delta(before, after, "bond_events_sent_total", { transport: "sse" })).toBe(n);
    expect(delta(before, after, "bond_tokens_total", { kind: "prompt" })).toBe(3);
    expect(delta(before, after, "bond_tokens_total", { kind: "completion" })).toBe(2);
    expect(delta(before, after, "bond_cost_usd_total")).toBeCloseTo(0.25, 9);
    expect(delta(before, after, "bond_run_duration_seconds_count")).toBe(1);
    expect(delta(before, after, "bond_run_duration_seconds_bucket", { le: "+Inf" })).toBe(1);
    expect(delta(before, after, "bond_http_requests_total", { method: "POST", route: "/ask", status: "200" })).toBe(1);
    expect(delta(before, after, "bond_http_requests_total", { method: "GET", route: "/stream/:session_id", status: "200" })).toBe(1);
    expect(value(after, "bond_runs_running")).toBe(0);
    expect(value(after, "bond_sessions_active")).toBe(value(before, "bond_sessions_active") + 1);
  });

  test("errored and cancelled runs are counted by outcome", async () => {
    const before = await scrape(s.url);
    await askOk(s.url, "please fail");
    const slow = await askOk(s.url, "be slow");
    await waitForMetric(s.url, (e) => value(e, "bond_runs_running") === 1, "the slow run running");
    expect((await fetch(`${s.url}/sessions/${slow}/cancel`, { method: "POST" })).status).toBe(202);
    const after = await waitForMetric(
      s.url,
      (e) => delta(before, e, "bond_runs_finished_total", { status: "cancelled" }) === 1 && delta(before, e, "bond_runs_finished_total", { status: "error" }) === 1,
      "error and cancel counted",
    );
    expect(delta(before, after, "bond_runs_started_total")).toBe(2);
    expect(delta(before, after, "bond_runs_finished_total", { status: "completed" })).toBe(0);
    expect(delta(before, after, "bond_run_duration_seconds_count")).toBe(2);
    expect(delta(before, after, "bond_http_requests_total", { method: "POST", route: "/sessions/:session_id/cancel", status: "202" })).toBe(1);
    expect(value(after, "bond_runs_running")).toBe(0);
  });

  test("subscribers by transport while they follow a run; events sent counted when each stops", async () => {
    const before = await scrape(s.url);
    const id = await askOk(s.url, "slow please");
    const sse = await readSseLive(`${s.url}/stream/${id}`);
    const ws = await openWs(s.wsUrl);
    ws.send({ type: "resume", session_id: id });
    await ws.waitFor((f) => f.t === "text");
    const during = await waitForMetric(
      s.url,
      (e) => value(e, "bond_stream_subscribers", { transport: "sse" }) === 1 && value(e, "bond_stream_subscribers", { transport: "ws" }) === 1,
      "one subscriber on each transport",
    );
    expect(value(during, "bond_websocket_connections")).toBe(1);
    expect(value(during, "bond_runs_running")).toBe(1);

    ws.send({ type: "cancel" });
    const done = await ws.waitFor((f) => f.t === "done");
    await sse.done;
    const wsEvents = runFrames(ws.frames, 0, done).length;
    const after = await waitForMetric(
      s.url,
      (e) => value(e, "bond_stream_subscribers", { transport: "sse" }) === 0 && value(e, "bond_stream_subscribers", { transport: "ws" }) === 0,
      "subscribers gone",
    );
    expect(delta(before, after, "bond_events_sent_total", { transport: "ws" })).toBe(wsEvents);
    expect(delta(before, after, "bond_events_sent_total", { transport: "sse" })).toBe(sse.count());
    expect(delta(before, after, "bond_runs_finished_total", { status: "cancelled" })).toBe(1);
    ws.close();
    await ws.closed;
    await waitForMetric(s.url, (e) => value(e, "bond_websocket_connections") === 0, "socket closed");
  });

  test("HTTP requests are labelled by route template, never by raw path", async () => {
    const before = await scrape(s.url);
    for (const id of ["unknown-one", "unknown-two"]) expect((await fetch(`${s.url}/stream/${id}`)).status).toBe(404);
    expect((await fetch(`${s.url}/no/such/path-${crypto.randomUUID()}`)).status).toBe(404);
    expect((await fetch(`${s.url}/ask`, { method: "POST", headers: { "content-type": "application/json" }, body: "{oops" })).status).toBe(400);
    const res = await fetch(`${s.url}/metrics`);
    const text = await res.text();
    const after = parseExposition(text);
    expect(delta(before, after, "bond_http_requests_total", { method: "GET", route: "/stream/:session_id", status: "404" })).toBe(2);
    expect(delta(before, after, "bond_http_requests_total", { method: "GET", route: "unmatched", status: "404" })).toBe(1);
    expect(delta(before, after, "bond_http_requests_total", { method: "POST", route: "/ask", status: "400" })).toBe(1);
    expect(text).not.toContain("unknown-one");
    expect(text).not.toContain("no/such");
  });

  test("odd methods share one label", async () => {
    const before = await scrape(s.url);
    await fetch(`${s.url}/health`, { method: "PROPFIND" });
    const after = await scrape(s.url);
    const other = [...after.samples.keys()].filter((k) => k.startsWith("bond_http_requests_total{") && k.includes('method="OTHER"'));
    expect(other.length).toBeGreaterThan(0);
    expect([...after.samples.keys()].some((k) => k.includes("PROPFIND"))).toBe(false);
    expect(other.reduce((sum, k) => sum + (after.samples.get(k) ?? 0) - (before.samples.get(k) ?? 0), 0)).toBe(1);
  });
});

describe("session lifecycle metrics", () => {
  test("expired and deleted sessions", async () => {
    const s = startServer({ session_timeout_seconds: 0.3 }, { model: new PromptModel() });
    try {
      const before = await scrape(s.url);
      const a = await askOk(s.url, "one");
      const b = await askOk(s.url, "two");
      await waitForMetric(s.url, (e) => value(e, "bond_runs_running") === 0, "runs done");
      expect((await fetch(`${s.url}/sessions/${b}`, { method: "DELETE" })).status).toBe(204);
      const after = await waitForMetric(s.url, (e) => delta(before, e, "bond_sessions_expired_total") === 1, "session a expired");
      expect(delta(before, after, "bond_sessions_created_total")).toBe(2);
      expect(delta(before, after, "bond_sessions_deleted_total")).toBe(1);
      expect(value(after, "bond_sessions_active")).toBe(0);
      expect((await fetch(`${s.url}/sessions/${a}`)).status).toBe(404);
    } finally {
      await s.stop();
    }
  });
});

describe("/metrics with API keys", () => {
  test("needs a key like any other endpoint; refused requests are counted by route", async () => {
    const s = startServer({ api_keys: ["k-metrics"] }, { model: new PromptModel() });
    const auth = { authorization: "Bearer k-metrics" };
    try {
      const refused = await fetch(`${s.url}/metrics`);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: string }).error).toBeString();
      expect((await fetch(`${s.url}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
      expect((await fetch(`${s.url}/ask`, { method: "POST", body: "{}" })).status).toBe(401);
      const exp = await scrape(s.url, auth);
      expect(value(exp, "bond_http_requests_total", { method: "GET", route: "/metrics", status: "401" })).toBe(2);
      expect(value(exp, "bond_http_requests_total", { method: "POST", route: "/ask", status: "401" })).toBe(1);
    } finally {
      await s.stop();
    }
  });
});

/** An SSE reader that counts events as they come and resolves `done` when the server closes the stream. */
async function readSseLive(url: string): Promise<{ done: Promise<void>; count(): number }> {
  const res = await fetch(url);
  if (res.status !== 200 || !res.body) throw new Error(`stream answered ${res.status}`);
  let events = 0;
  let buffer = "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const done = (async () => {
    for (;;) {
      const { value: chunk, done: end } = await reader.read();
      if (end) return;
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        if (buffer.slice(0, cut).split("\n").some((l) => l.startsWith("id: "))) events++;
        buffer = buffer.slice(cut + 2);
      }
    }
  })();
  return { done, count: () => events };
}
