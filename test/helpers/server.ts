import { afterAll } from "bun:test";
import { BondAgent } from "../../src/agent/agent.ts";
import { builtinTools } from "../../src/agent/builtin-tools.ts";
import { DemoModel } from "../../src/agent/models/demo.ts";
import type { Model } from "../../src/agent/models/model.ts";
import type { AnyTool } from "../../src/agent/tools.ts";
import type { ServerConfig } from "../../src/config.ts";
import { createBondServer, type BondServer, type BondServerOptions } from "../../src/server/app.ts";

export interface TestServer {
  app: BondServer;
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export interface TestServerOptions extends BondServerOptions {
  model?: Model;
  tools?: readonly AnyTool[];
}

/** A real Bond server on 127.0.0.1, port 0, with the demo model (no pause between deltas unless configured). */
export function startServer(config: Partial<ServerConfig> = {}, options: TestServerOptions = {}): TestServer {
  const model = options.model ?? new DemoModel({ delayMs: config.demo_delay_ms ?? 0, benchTokens: config.demo_bench_tokens ?? null });
  const agent = new BondAgent({
    name: config.agent_name ?? "test-agent",
    instructions: config.instructions,
    model,
    tools: options.tools ?? builtinTools,
    maxToolRounds: config.max_tool_rounds,
    toolTimeoutMs: config.tool_timeout_seconds !== undefined ? config.tool_timeout_seconds * 1000 : undefined,
  });
  // Quiet unless a test asks for logs (config.log_level, with options.logger to capture them).
  const app = createBondServer(agent, { log_level: "silent", ...config }, options);
  app.listen({ hostname: "127.0.0.1", port: 0 });
  const port = app.server!.port;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    async stop() {
      app.bond.dispose();
      await app.stop(true);
    },
  };
}

export async function ask(
  base: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${base}/ask`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

/** POST /ask that must succeed; returns the session id. */
export async function askOk(base: string, prompt: string, sessionId?: string): Promise<string> {
  const res = await ask(base, sessionId ? { prompt, session_id: sessionId } : { prompt });
  if (res.status !== 200) throw new Error(`/ask answered ${res.status}: ${JSON.stringify(res.json)}`);
  return res.json.session_id as string;
}

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Polls `check` until it returns true, or fails after `ms`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(20);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** `startServer` for a test file: every server it starts is stopped after the file's tests. */
export function serversStoppedAfterAll(): (...args: Parameters<typeof startServer>) => TestServer {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });
  return (...args) => {
    const s = startServer(...args);
    servers.push(s);
    return s;
  };
}
