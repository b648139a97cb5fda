import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { ServerConfig } from "../../src/config.ts";
import { askOk, getJson, startServer, type TestServer } from "../helpers/server.ts";
import { readSse } from "../helpers/sse.ts";
import { openWs, type Frame } from "../helpers/ws.ts";
import { checkRunInvariants, fromSse, fromWs } from "../helpers/invariants.ts";

/**
 * Property-based abuse of every endpoint: random and malformed bodies, headers, paths, query
 * strings and WebSocket frames. Whatever comes in: never a 5xx, never a hang, a JSON
 * `{"error": string}` on every 4xx, and afterwards the server still serves a normal run.
 * A fixed seed keeps CI reproducible; set FC_SEED to explore.
 */

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});
function server(config: Partial<ServerConfig> = {}): TestServer {
  const s = startServer({
    log_level: "silent",
    demo_delay_ms: 0,
    max_concurrent_sessions: 100_000, // a full session table (503) is a different, tested, story
    session_timeout_seconds: 30,
    max_body_bytes: 64 * 1024,
    max_ws_frame_bytes: 64 * 1024,
    ...config,
  });
  servers.push(s);
  return s;
}

const SEED = Number(process.env.FC_SEED ?? 20261121);
const REQUEST_MS = 10_000;
const KEY = "prop-key-1";

const printable = fc.string({ unit: "grapheme-ascii", maxLength: 60 });
const anyText = fc.string({ unit: "binary", maxLength: 80 });
const sessionIds = fc.oneof(
  fc.constantFrom("prop-known", "prop-known-2", "abc", "a".repeat(128), "a".repeat(129), "..", ".", "%2e%2e", "x/y", "%00", "%ff"),
  printable,
  anyText,
);
const eventIds = fc.oneof(fc.constantFrom("1:1", "1:0", "0:0", "2:1", "1:999999", "999999999:1", "-1:1", "1:1:1", ""), printable);

const jsonish = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        prompt: fc.oneof(printable, anyText, fc.integer(), fc.constant(null), fc.constant(""), fc.constant("   "), fc.array(printable, { maxLength: 3 })),
        session_id: fc.oneof(sessionIds, fc.constant(null), fc.integer(), fc.boolean()),
        new_session: fc.oneof(fc.boolean(), printable),
        extra: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);
const bodies = fc.oneof(
  jsonish,
  anyText,
  fc.uint8Array({ maxLength: 200 }).map((b) => new Uint8Array(b).buffer), // raw bytes, invalid UTF-8 included
  fc.constantFrom("{", "[", '{"prompt":', '{"prompt":"hi"', "\u0000", "null", "true", "1e999", '{"__proto__":{"x":1},"prompt":"hi"}', '{"prompt":"hi","constructor":{"prototype":{}}}'),
  fc.integer({ min: 0, max: 200 }).map((n) => JSON.stringify({ prompt: "p".repeat(n * 400) })), // up to and past 64 KiB
);

const headerValue = fc.oneof(
  printable,
  fc.constantFrom("", "Bearer", "Bearer ", `Bearer ${KEY}`, `bearer ${KEY} x`, "Basic eA==", "application/json", "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "null", "*/*"),
);
const headerName = fc.constantFrom(
  "content-type",
  "authorization",
  "last-event-id",
  "origin",
  "x-forwarded-for",
  "accept",
  "x-request-id",
  "cookie",
  "sec-websocket-protocol",
  "range",
  "if-none-match",
  "accept-encoding",
);
const headers = fc.dictionary(headerName, headerValue, { maxKeys: 5 });

const paths = fc.oneof(
  fc.constantFrom("/ask", "/health", "/ws", "/metrics", "/openapi.json", "/docs", "/", "/sessions", "/stream", "/stream/", "/sessions//cancel", "//ask", "/ask/", "/ASK", "/ask?x", "/%61sk"),
  sessionIds.map((id) => `/stream/${encodeURIComponent(id)}`),
  sessionIds.map((id) => `/sessions/${encodeURIComponent(id)}`),
  sessionIds.map((id) => `/sessions/${encodeURIComponent(id)}/cancel`),
  fc.webPath(),
);
const queries = fc.oneof(
  fc.constant(""),
  eventIds.map((id) => `?last_event_id=${encodeURIComponent(id)}`),
  printable.map((t) => `?token=${encodeURIComponent(t)}`),
  fc.webQueryParameters().map((q) => `?${q}`),
  fc.constantFrom("?", "?&&", "?a=%zz", "?last_event_id=%", "?token=a.b"),
);
const methods = fc.constantFrom("GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD");

interface Attempt {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string | ArrayBuffer;
}
const attempts: fc.Arbitrary<Attempt> = fc.record({ method: methods, path: paths, query: queries, headers, body: bodies });

/** Sends one attempt and checks the response; returns false when the client itself refused to send it. */
async function check(s: TestServer, a: Attempt): Promise<boolean> {
  const withBody = a.method !== "GET" && a.method !== "HEAD";
  let res: Response;
  try {
    res = await fetch(`${s.url}${a.path}${a.query}`, {
      method: a.method,
      headers: a.headers,
      body: withBody ? a.body : undefined,
      signal: AbortSignal.timeout(REQUEST_MS),
    });
  } catch (e) {
    if (e instanceof Error && e.name === "TimeoutError") throw new Error(`hang: ${JSON.stringify(a).slice(0, 300)}`);
    return false; // e.g. a header value the client will not send
  }
  const text = await readWithin(res);
  const where = `${a.method} ${a.path}${a.query} → ${res.status} ${text.slice(0, 200)}`;
  expect([where, res.status < 500]).toEqual([where, true]);
  if (res.status >= 400 && a.method !== "HEAD") {
    expect([where, res.headers.get("content-type") ?? ""]).toEqual([where, expect.stringContaining("application/json")]);
    const body = JSON.parse(text) as { error?: unknown };
    expect([where, typeof body.error]).toEqual([where, "string"]);
    expect(text).not.toMatch(/\bat \S+ \(|\.ts:\d+|node_modules/);
  }
  if (res.status >= 200 && res.status < 300) expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  return true;
}

/** Reads a body within the bound: an event stream of a finished run closes by itself. */
async function readWithin(res: Response): Promise<string> {
  const timer = setTimeout(() => void res.body?.cancel().catch(() => {}), REQUEST_MS);
  try {
    return await res.text();
  } catch {
    throw new Error(`hang reading the body of a ${res.status} (${res.headers.get("content-type")})`);
  } finally {
    clearTimeout(timer);
  }
}

/** A normal run over both transports still works, and the server is healthy. */
async function stillServes(s: TestServer, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${s.url}/ask`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ prompt: "What is 6*7?" }) });
  expect(res.status).toBe(200);
  const { stream_url } = (await res.json()) as { stream_url: string };
  const stream = await readSse(`${s.url}${stream_url}`, headers);
  const terminal = checkRunInvariants(fromSse(stream.events));
  expect(terminal.data.data as string).toContain("42");
  const ws = await openWs(s.wsUrl, headers.authorization ? ["bearer", KEY] : undefined);
  ws.send({ prompt: "What is 6*7?" });
  await ws.waitFor((f) => f.t === "done");
  expect(checkRunInvariants(fromWs(ws.frames)).type).toBe("complete");
  ws.close();
  expect((await getJson(`${s.url}/health`)).json.status).toBe("healthy");
}

describe("random HTTP requests at every endpoint", () => {
  for (const auth of [false, true]) {
    test(`never a 5xx, never a hang, always the JSON error shape (auth ${auth ? "on" : "off"})`, async () => {
      const s = server(auth ? { api_keys: [KEY] } : {});
      const h: Record<string, string> = auth ? { authorization: `Bearer ${KEY}` } : {};
      const known = await fetch(`${s.url}/ask`, { method: "POST", headers: { "content-type": "application/json", ...h }, body: JSON.stringify({ prompt: "hello", session_id: "prop-known" }) });
      expect(known.status).toBe(200);
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(attempts, fc.boolean(), async (a, withKey) => {
          // With auth on, half the attempts carry the right key so they get past the gate.
          const attempt = auth && withKey ? { ...a, headers: { ...a.headers, authorization: `Bearer ${KEY}` } } : a;
          if (await check(s, attempt)) sent++;
        }),
        { numRuns: 400, seed: SEED + (auth ? 1 : 0), endOnFailure: true },
      );
      expect(sent).toBeGreaterThan(300);
      await stillServes(s, h);
    }, 120_000);
  }

  test("random upgrade requests to /ws: refused ones are JSON, accepted ones are 101", async () => {
    const s = server({ api_keys: [KEY], cors_origins: ["https://app.example"] });
    const upgrades = fc.record({
      protocol: fc.oneof(fc.constant(undefined), headerValue, fc.constantFrom(`bearer, ${KEY}`, `bearer,${KEY}`, "bearer", `${KEY}, bearer`, "bearer, , ,", "bearer, x, bearer")),
      origin: fc.oneof(fc.constant(undefined), fc.constantFrom("https://app.example", "https://evil.example", "null", ""), printable),
      query: queries,
      version: fc.constantFrom("13", "13", "8", "", "x"),
      connection: fc.constantFrom("Upgrade", "Upgrade", "keep-alive, Upgrade", "close", "", "upgradex"),
      key: fc.oneof(fc.constant("dGhlIHNhbXBsZSBub25jZQ=="), fc.constant("dGhlIHNhbXBsZSBub25jZQ=="), printable),
    });
    await fc.assert(
      fc.asyncProperty(upgrades, async (u) => {
        const h: Record<string, string> = {
          upgrade: "websocket",
          connection: u.connection,
          "sec-websocket-key": u.key,
          "sec-websocket-version": u.version,
        };
        if (u.protocol !== undefined) h["sec-websocket-protocol"] = u.protocol;
        if (u.origin !== undefined) h.origin = u.origin;
        let res: Response;
        try {
          res = await fetch(`${s.url}/ws${u.query}`, { headers: h, signal: AbortSignal.timeout(REQUEST_MS) });
        } catch (e) {
          if (e instanceof Error && e.name === "TimeoutError") throw new Error(`hang: ${JSON.stringify(u)}`);
          return; // unsendable header
        }
        expect(res.status).toBeLessThan(500);
        if (res.status === 101) {
          expect(res.headers.get("sec-websocket-protocol") ?? "bearer").toBe("bearer"); // never the key echoed
          return;
        }
        const text = await readWithin(res);
        if (res.status >= 400) expect(typeof (JSON.parse(text) as { error?: unknown }).error).toBe("string");
        expect(text).not.toContain(KEY);
      }),
      { numRuns: 150, seed: SEED + 2, endOnFailure: true },
    );
    await stillServes(s, { authorization: `Bearer ${KEY}` });
  }, 120_000);
});

const REFUSAL_CODES = new Set(["bad_request", "busy", "not_found", "nothing_to_cancel", "rate_limited", "unavailable"]);

describe("random WebSocket frames", () => {
  test("every reply is a JSON object with a `t`; refusals carry a known code and no id; the socket stays usable", async () => {
    const s = server();
    await askOk(s.url, "hello", "prop-known");
    const ws = await openWs(s.wsUrl);
    const objects = fc.record(
      {
        type: fc.oneof(fc.constantFrom("message", "prompt", "cancel", "ping", "resume", "", "MESSAGE", "x".repeat(40)), printable, fc.integer(), fc.constant(null)),
        prompt: fc.oneof(printable, anyText, fc.constant(""), fc.integer(), fc.constant(null), fc.jsonValue({ maxDepth: 2 })),
        message: fc.oneof(printable, fc.integer()),
        session_id: fc.oneof(sessionIds, fc.constant(null), fc.integer(), fc.jsonValue({ maxDepth: 1 })),
        new_session: fc.oneof(fc.boolean(), printable),
        last_event_id: fc.oneof(eventIds, fc.constant(null), fc.integer()),
      },
      { requiredKeys: [] },
    );
    const frames = fc.oneof(
      objects.map((o) => JSON.stringify(o)),
      fc.json({ maxDepth: 3 }),
      anyText,
      fc.uint8Array({ maxLength: 100 }),
      fc.constantFrom("", "{", "[]", "null", '"str"', "42", '{"type":"ping"}', '{"type":"cancel"}', '{"type":"resume"}', '{"__proto__":{"type":"ping"}}'),
    );
    let from = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frames, { minLength: 1, maxLength: 5 }), async (batch) => {
        for (const f of batch) ws.socket.send(f);
        // A ping after the batch must be answered: the socket neither hung nor closed.
        ws.send({ type: "ping" });
        const pong = await ws.waitFor((f) => f.t === "pong", from, REQUEST_MS);
        for (const f of ws.frames.slice(from, pong + 1)) checkFrame(f);
        from = pong + 1;
      }),
      { numRuns: 200, seed: SEED + 3, endOnFailure: true },
    );
    expect(ws.socket.readyState).toBe(WebSocket.OPEN);
    ws.close();
    await stillServes(s);
  }, 120_000);
});

function checkFrame(f: Frame): void {
  expect(typeof f.t).toBe("string");
  if (f.t === "error" && f.i === undefined) {
    expect(REFUSAL_CODES.has(f.code as string)).toBe(true);
    expect(typeof f.error).toBe("string");
    expect(f.error as string).not.toMatch(/\bat \S+ \(|\.ts:\d+|node_modules/);
  }
}
