import { afterAll, describe, expect, test } from "bun:test";
import type { ServerConfig } from "../../src/config.ts";
import { ask, getJson, startServer, waitUntil, type TestServer } from "../helpers/server.ts";
import { openSse, readSse } from "../helpers/sse.ts";
import { openWs, type WsClient } from "../helpers/ws.ts";
import { checkRunInvariants, fromSse, fromWs } from "../helpers/invariants.ts";

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});
function server(config: Partial<ServerConfig> = {}): TestServer {
  const s = startServer({ log_level: "silent", ...config });
  servers.push(s);
  return s;
}

const K1 = "key-one-SECRET";
const K2 = "key-two-SECRET";
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** The upgrade request a browser would send, made with fetch so a refusal's status and body can be read. */
async function upgradeAttempt(s: TestServer, headers: Record<string, string>, query = ""): Promise<Response> {
  return fetch(`${s.url}/ws${query}`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      ...headers,
    },
  });
}

/** A Bun WebSocket with headers (Bun's extension), or null when the upgrade was refused. */
async function wsWith(url: string, init: { headers?: Record<string, string>; protocols?: string[] }): Promise<WebSocket | null> {
  const socket = new WebSocket(url, init as unknown as string[]);
  return new Promise((resolve) => {
    socket.addEventListener("open", () => resolve(socket), { once: true });
    socket.addEventListener("error", () => resolve(null), { once: true });
  });
}

async function expectJsonError(res: Response, status: number): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as { error?: unknown };
  expect(typeof body.error).toBe("string");
  return body.error as string;
}

/** Waits for a session's run to end (GET /sessions/{id} with `key`). */
async function runEnded(s: TestServer, id: string, key: string): Promise<void> {
  await waitUntil(async () => {
    const res = await getJson(`${s.url}/sessions/${id}`, { headers: bearer(key) });
    return res.status === 200 && res.json.status !== "pending" && res.json.status !== "streaming";
  }, 10_000, "the run to end");
}

describe("API keys", () => {
  const s = server({ api_keys: [K1, K2] });

  test("every endpoint but /health needs a key: 401, WWW-Authenticate, JSON, nothing echoed", async () => {
    const attempts: [string, string][] = [
      ["POST", "/ask"],
      ["GET", "/stream/abc"],
      ["GET", "/sessions/abc"],
      ["POST", "/sessions/abc/cancel"],
      ["DELETE", "/sessions/abc"],
      ["GET", "/no/such/route"],
    ];
    for (const [method, path] of attempts) {
      for (const headers of [{}, bearer("wrong-SECRET-guess"), { authorization: "Basic a2V5LW9uZQ==" }]) {
        const res = await fetch(`${s.url}${path}`, { method, headers, body: method === "POST" ? "{}" : undefined });
        const message = await expectJsonError(res, 401);
        expect(res.headers.get("www-authenticate")).toContain("Bearer");
        expect(message).not.toContain("SECRET");
      }
    }
    const upgrade = await upgradeAttempt(s, bearer("wrong-SECRET-guess"));
    await expectJsonError(upgrade, 401);
    expect(await wsWith(s.wsUrl, {})).toBeNull();
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(200);
  });

  test("each configured key works over HTTP", async () => {
    for (const key of [K1, K2]) {
      const res = await ask(s.url, { prompt: "hello" }, bearer(key));
      expect(res.status).toBe(200);
      const stream = await readSse(`${s.url}/stream/${res.json.session_id as string}`, bearer(key));
      expect(checkRunInvariants(fromSse(stream.events)).type).toBe("complete");
    }
  });

  test("keys never reach the logs, right or wrong", async () => {
    const logged = server({ api_keys: [K1], log_level: "debug" });
    const lines: string[] = [];
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    const capture = (chunk: unknown): boolean => {
      lines.push(String(chunk));
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    try {
      await ask(logged.url, { prompt: "hello" }, bearer("wrong-SECRET-guess"));
      const ok = await ask(logged.url, { prompt: "hello" }, bearer(K1));
      const url = ok.json.stream_url as string;
      await readSse(`${logged.url}${url}`);
      const token = new URL(url, logged.url).searchParams.get("token")!;
      const ws = await wsWith(logged.wsUrl, { protocols: ["bearer", K1] });
      ws?.close();
      await Bun.sleep(100);
      const all = lines.join("");
      expect(all.length).toBeGreaterThan(0); // the server did log
      expect(all).not.toContain("SECRET");
      expect(all).not.toContain(token);
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
    }
  });
});

describe("stream tokens (EventSource cannot send headers)", () => {
  const s = server({ api_keys: [K1, K2], demo_delay_ms: 0 });

  test("/ask's stream_url carries a token that opens that stream without a header", async () => {
    const res = await ask(s.url, { prompt: "What is 6*7?" }, bearer(K1));
    const url = res.json.stream_url as string;
    expect(url).toMatch(/^\/stream\/[^?]+\?token=[A-Za-z0-9_.-]+$/);
    const stream = await readSse(`${s.url}${url}`);
    expect(stream.status).toBe(200);
    const terminal = checkRunInvariants(fromSse(stream.events));
    expect(terminal.data.data as string).toContain("42");
    // Resume with the same token and Last-Event-ID, as EventSource does.
    const again = await fetch(`${s.url}${url}`, { headers: { "last-event-id": stream.events.at(-1)!.id } });
    expect(again.status).toBe(204);
  });

  test("a token opens only its own session's stream, and nothing else", async () => {
    const a = await ask(s.url, { prompt: "hello" }, bearer(K1));
    const b = await ask(s.url, { prompt: "hello" }, bearer(K1));
    const tokenA = new URL(a.json.stream_url as string, s.url).searchParams.get("token")!;
    const idA = a.json.session_id as string;
    const idB = b.json.session_id as string;
    await expectJsonError(await fetch(`${s.url}/stream/${idB}?token=${tokenA}`), 401);
    await expectJsonError(await fetch(`${s.url}/sessions/${idA}?token=${tokenA}`), 401);
    await expectJsonError(await fetch(`${s.url}/sessions/${idA}/cancel?token=${tokenA}`, { method: "POST" }), 401);
    await expectJsonError(await fetch(`${s.url}/sessions/${idA}?token=${tokenA}`, { method: "DELETE" }), 401);
    await expectJsonError(
      await fetch(`${s.url}/ask?token=${tokenA}`, { method: "POST", body: JSON.stringify({ prompt: "x" }), headers: { "content-type": "application/json" } }),
      401,
    );
    // Even with a valid key, a token is no way into another key's session.
    const k2 = await fetch(`${s.url}/stream/${idA}?token=${tokenA}`, { headers: bearer(K2) });
    await expectJsonError(k2, 404);
  });

  test("forged, tampered, truncated and expired tokens are refused with 401", async () => {
    const res = await ask(s.url, { prompt: "hello" }, bearer(K1));
    const id = res.json.session_id as string;
    const token = new URL(res.json.stream_url as string, s.url).searchParams.get("token")!;
    const [body, sig] = token.split(".") as [string, string];
    const flip = (t: string) => (t[0] === "A" ? "B" : "A") + t.slice(1);
    const forgedBody = Buffer.from(`9999999999.${"0".repeat(24)}.${id}`).toString("base64url");
    for (const bad of [flip(body) + "." + sig, body + "." + flip(sig), body, `${body}.`, `${forgedBody}.${sig}`, "x".repeat(5000), "", "a.b.c", "%00"]) {
      await expectJsonError(await fetch(`${s.url}/stream/${id}?token=${encodeURIComponent(bad)}`), 401);
    }

    const short = server({ api_keys: [K1], stream_token_ttl_seconds: 0.2 });
    const r = await ask(short.url, { prompt: "hello" }, bearer(K1));
    await Bun.sleep(1300); // expiry is in whole seconds, rounded up
    await expectJsonError(await fetch(`${short.url}${r.json.stream_url as string}`), 401);
    // The key still works for the same stream.
    const withKey = await fetch(`${short.url}/stream/${r.json.session_id as string}`, { headers: bearer(K1) });
    expect([200, 204]).toContain(withKey.status);
    await withKey.body?.cancel();
  });

  test("a token opens a WebSocket scoped to its session: resume and prompt there, nothing elsewhere", async () => {
    const mine = await ask(s.url, { prompt: "My name is Ada." }, bearer(K1));
    const other = await ask(s.url, { prompt: "hello" }, bearer(K1));
    const id = mine.json.session_id as string;
    const token = new URL(mine.json.stream_url as string, s.url).searchParams.get("token")!;
    const ws = await openWs(`${s.wsUrl}?token=${token}`);
    ws.send({ type: "resume", session_id: id });
    await ws.waitFor((f) => f.t === "done");
    expect(checkRunInvariants(fromWs(ws.frames)).type).toBe("complete");
    let at = ws.frames.length;
    ws.send({ type: "resume", session_id: other.json.session_id });
    await ws.waitFor((f) => f.t === "error", at);
    expect(ws.frames[ws.frames.length - 1]!.code).toBe("not_found");
    at = ws.frames.length;
    ws.send({ prompt: "hi", new_session: true });
    expect(ws.frames[await ws.waitFor((f) => f.t === "error", at)]!.code).toBe("bad_request");
    at = ws.frames.length;
    ws.send({ prompt: "What is my name?" }); // continues the token's session
    await ws.waitFor((f) => f.t === "done", at);
    const complete = ws.frames.slice(at).find((f) => f.t === "complete")!;
    expect(complete.data).toBe("Your name is Ada.");
    ws.close();
    // A token does not open /ws for a refused or garbage value.
    await expectJsonError(await upgradeAttempt(s, {}, "?token=garbage"), 401);
  });
});

describe("WebSocket auth by subprotocol", () => {
  test("`bearer, <key>` opens the socket and the server answers with `bearer`, never the key", async () => {
    const s = server({ api_keys: [K1] });
    const ws = await openWs(s.wsUrl, ["bearer", K1]);
    expect(ws.socket.protocol).toBe("bearer");
    ws.send({ prompt: "What is 2+3?" });
    await ws.waitFor((f) => f.t === "done");
    expect(checkRunInvariants(fromWs(ws.frames)).type).toBe("complete");
    ws.close();
    const raw = await upgradeAttempt(s, { "sec-websocket-protocol": `bearer, ${K1}` });
    expect(raw.status).toBe(101);
    expect(raw.headers.get("sec-websocket-protocol")).toBe("bearer");
    // Key first (Bun would echo it): still answered with bearer... but the key must follow "bearer" to count.
    await expectJsonError(await upgradeAttempt(s, { "sec-websocket-protocol": `${K1}, bearer` }), 401);
    expect(await wsWith(s.wsUrl, { protocols: ["bearer", "wrong"] })).toBeNull();
    expect(await wsWith(s.wsUrl, { protocols: ["bearer"] })).toBeNull();
    // Bun's header form (the client SDK's wsAuth "header").
    const viaHeader = await wsWith(s.wsUrl, { headers: bearer(K1) });
    expect(viaHeader).not.toBeNull();
    viaHeader?.close();
  });

  test("without auth, a client offering `bearer, <key>` still gets `bearer` back (browsers require an answer)", async () => {
    const s = server();
    const ws = await openWs(s.wsUrl, ["bearer", "anything"]);
    expect(ws.socket.protocol).toBe("bearer");
    ws.close();
  });
});

describe("sessions belong to the key that created them", () => {
  const s = server({ api_keys: [K1, K2], demo_delay_ms: 20 });

  test("another key gets 404 everywhere, exactly as for an unknown session", async () => {
    const res = await ask(s.url, { prompt: "My name is Bob.", session_id: "shared-name" }, bearer(K1));
    expect(res.status).toBe(200);
    const id = res.json.session_id as string;
    const unknown = await fetch(`${s.url}/sessions/never-existed`, { headers: bearer(K2) });
    const unknownMessage = await expectJsonError(unknown, 404);
    for (const [method, path] of [
      ["GET", `/stream/${id}`],
      ["GET", `/sessions/${id}`],
      ["POST", `/sessions/${id}/cancel`],
      ["DELETE", `/sessions/${id}`],
    ] as const) {
      const message = await expectJsonError(await fetch(`${s.url}${path}`, { method, headers: bearer(K2) }), 404);
      expect(message).toBe(unknownMessage);
    }
    const ws = await openWs(s.wsUrl, ["bearer", K2]);
    ws.send({ type: "resume", session_id: id });
    const at = await ws.waitFor((f) => f.t === "error" || f.t === "done");
    expect(ws.frames[at]).toMatchObject({ t: "error", code: "not_found" });
    // A prompt naming that id lands in K2's own namespace: a new conversation, K1's untouched.
    ws.send({ prompt: "What is my name?", session_id: id });
    const done = await ws.waitFor((f) => f.t === "done", at + 1);
    const complete = ws.frames.slice(at, done).find((f) => f.t === "complete")!;
    expect(complete.data).not.toContain("Bob");
    ws.close();
    await runEnded(s, id, K1);
    const owner = await getJson(`${s.url}/sessions/${id}`, { headers: bearer(K1) });
    expect(owner.json.runs).toBe(1);
    expect(JSON.stringify(owner.json.history)).toContain("Bob");
    // /ask with the same id under K2 is K2's session too.
    const k2 = await ask(s.url, { prompt: "hello", session_id: id }, bearer(K2));
    expect(k2.status).toBe(200);
    await runEnded(s, id, K2);
    expect((await getJson(`${s.url}/sessions/${id}`, { headers: bearer(K2) })).json.runs).toBe(2);
    expect((await getJson(`${s.url}/sessions/${id}`, { headers: bearer(K1) })).json.runs).toBe(1);
    // K2 deleting "its" id leaves K1's alone.
    expect((await fetch(`${s.url}/sessions/${id}`, { method: "DELETE", headers: bearer(K2) })).status).toBe(204);
    expect((await getJson(`${s.url}/sessions/${id}`, { headers: bearer(K1) })).status).toBe(200);
  });

  test("another key cannot cancel a running run", async () => {
    const res = await ask(s.url, { prompt: "Tell me a long story please" }, bearer(K1));
    const id = res.json.session_id as string;
    const stream = await openSse(`${s.url}/stream/${id}`, bearer(K1));
    expect((await fetch(`${s.url}/sessions/${id}/cancel`, { method: "POST", headers: bearer(K2) })).status).toBe(404);
    const ws = await openWs(s.wsUrl, ["bearer", K2]);
    ws.send({ type: "cancel" });
    expect(ws.frames[await ws.waitFor((f) => f.t === "error")]!.code).toBe("nothing_to_cancel");
    ws.close();
    await stream.done;
    expect(checkRunInvariants(fromSse(stream.events)).type).toBe("complete");
  });
});

describe("WebSocket Origin check (cross-site WebSocket hijacking)", () => {
  test("with explicit cors_origins: a foreign Origin is refused with 403 JSON; listed and absent Origins pass", async () => {
    const s = server({ cors_origins: ["https://app.example"] });
    const refused = await upgradeAttempt(s, { origin: "https://evil.example" });
    expect(await expectJsonError(refused, 403)).toContain("Origin");
    expect(refused.headers.get("x-content-type-options")).toBe("nosniff");
    for (const origin of ["https://app.example.evil.example", "null", "https://APP.example:443x"]) {
      expect((await upgradeAttempt(s, { origin })).status).toBe(403);
    }
    const good = await wsWith(s.wsUrl, { headers: { origin: "https://app.example" } });
    expect(good).not.toBeNull();
    good?.close();
    const none = await openWs(s.wsUrl); // non-browser clients send no Origin
    none.close();
  });

  test("the wildcard keeps accepting any Origin", async () => {
    const s = server();
    const ws = await wsWith(s.wsUrl, { headers: { origin: "https://anywhere.example" } });
    expect(ws).not.toBeNull();
    ws?.close();
  });

  test("a refused upgrade spends no rate-limit token", async () => {
    const s = server({ cors_origins: ["https://app.example"], rate_limit_per_minute: 1 });
    for (let i = 0; i < 3; i++) expect((await upgradeAttempt(s, { origin: "https://evil.example" })).status).toBe(403);
    const ws = await openWs(s.wsUrl);
    ws.send({ prompt: "hi" });
    await ws.waitFor((f) => f.t === "done");
    ws.close();
  });
});

describe("concurrent runs per caller", () => {
  test("over the limit: 429 with Retry-After over HTTP, rate_limited over WS; freed when a run ends", async () => {
    const s = server({ api_keys: [K1, K2], max_concurrent_runs_per_caller: 2, demo_delay_ms: 30 });
    const a = await ask(s.url, { prompt: "Tell me a long story" }, bearer(K1));
    const b = await ask(s.url, { prompt: "Tell me a long story" }, bearer(K1));
    expect([a.status, b.status]).toEqual([200, 200]);
    const third = await ask(s.url, { prompt: "one more" }, bearer(K1));
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(third.json.error as string).toContain("2");
    const ws = await openWs(s.wsUrl, ["bearer", K1]);
    ws.send({ prompt: "one more" });
    expect(ws.frames[await ws.waitFor((f) => f.t === "error")]!.code).toBe("rate_limited");
    // Another key has its own allowance.
    expect((await ask(s.url, { prompt: "hi" }, bearer(K2))).status).toBe(200);
    // Ending a run (here: cancelling it) frees a slot.
    await fetch(`${s.url}/sessions/${a.json.session_id as string}/cancel`, { method: "POST", headers: bearer(K1) });
    await runEnded(s, a.json.session_id as string, K1);
    const at = ws.frames.length;
    ws.send({ prompt: "now it fits" });
    await ws.waitFor((f) => f.t === "done", at);
    ws.close();
    await fetch(`${s.url}/sessions/${b.json.session_id as string}/cancel`, { method: "POST", headers: bearer(K1) });
    await waitUntil(() => s.app.bond.runQuota.callers === 0, 5000, "every slot freed");
  });

  test("without auth the limit is per client address", async () => {
    const s = server({ max_concurrent_runs_per_caller: 1, demo_delay_ms: 30 });
    const a = await ask(s.url, { prompt: "Tell me a long story" });
    expect(a.status).toBe(200);
    expect((await ask(s.url, { prompt: "again" })).status).toBe(429);
    await fetch(`${s.url}/sessions/${a.json.session_id as string}/cancel`, { method: "POST" });
  });
});

describe("X-Forwarded-For is trusted only when configured", () => {
  const spoofs = async (s: TestServer, xff: string) => (await ask(s.url, { prompt: "hi" }, { "x-forwarded-for": xff })).status;

  test("trust_proxy: the right-most entry is the client; entries left of it (forgeable) are ignored", async () => {
    const s = server({ trust_proxy: true, rate_limit_per_minute: 1 });
    expect(await spoofs(s, "203.0.113.1")).toBe(200);
    expect(await spoofs(s, "203.0.113.1")).toBe(429);
    expect(await spoofs(s, "9.9.9.9, 203.0.113.1")).toBe(429); // a forged left entry does not help
    expect(await spoofs(s, "203.0.113.2")).toBe(200);
  });

  test("without trust_proxy the header is ignored: one peer, one allowance", async () => {
    const s = server({ rate_limit_per_minute: 1 });
    expect(await spoofs(s, "203.0.113.1")).toBe(200);
    expect(await spoofs(s, "203.0.113.2")).toBe(429);
  });
});

describe("security headers and error shape", () => {
  const s = server({ demo_delay_ms: 0 });

  test("every kind of response carries nosniff, no-referrer and DENY; streams are not cached", async () => {
    const id = (await ask(s.url, { prompt: "hi" })).json.session_id as string;
    const stream = await readSse(`${s.url}/stream/${id}`);
    const responses: Response[] = [
      await fetch(`${s.url}/health`),
      await fetch(`${s.url}/ask`, { method: "POST", body: "{bad", headers: { "content-type": "application/json" } }),
      await fetch(`${s.url}/sessions/${id}`),
      await fetch(`${s.url}/sessions/nope`),
      await fetch(`${s.url}/no/route`),
      await fetch(`${s.url}/stream/${id}`, { headers: { "last-event-id": stream.events.at(-1)!.id } }),
      await fetch(`${s.url}/ask`, { method: "OPTIONS", headers: { origin: "https://x.example", "access-control-request-method": "POST" } }),
    ];
    const sse = await fetch(`${s.url}/stream/${id}`);
    responses.push(sse);
    for (const res of responses) {
      expect([res.url, res.headers.get("x-content-type-options")]).toEqual([res.url, "nosniff"]);
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      await res.body?.cancel();
    }
    expect(sse.headers.get("cache-control")).toContain("no-cache");
  });

  test("Bun's development mode (an error page with stack traces) is off, whatever NODE_ENV says", () => {
    expect(s.app.server!.development).toBe(false);
  });

  test("errors never carry a stack trace", async () => {
    const bodies = await Promise.all([
      fetch(`${s.url}/ask`, { method: "POST", body: "{bad", headers: { "content-type": "application/json" } }),
      fetch(`${s.url}/ask`, { method: "POST", body: JSON.stringify({ prompt: 5 }), headers: { "content-type": "application/json" } }),
      fetch(`${s.url}/ask`, { method: "POST", body: "[]", headers: { "content-type": "application/json" } }),
      fetch(`${s.url}/stream/x?last_event_id=nope`),
      fetch(`${s.url}/sessions/${"%ff".repeat(3)}`),
    ].map(async (p) => (await p).text()));
    for (const body of bodies) {
      expect(body).not.toMatch(/\bat \S+ \(|\.ts:\d+|node_modules|Error:/);
      expect(() => JSON.parse(body)).not.toThrow();
    }
  });
});
