/**
 * Whole server with the OpenAI-compatible model against the fake provider:
 * real sockets on 127.0.0.1:0 both ways, POST /ask + GET /stream (SSE).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BondAgent } from "../../src/agent/agent.ts";
import { calculatorTool } from "../../src/agent/builtin-tools.ts";
import { OpenAIModel } from "../../src/agent/models/openai.ts";
import { costOf } from "../../src/agent/models/pricing.ts";
import { createBondServer, type BondServer } from "../../src/server/app.ts";
import { shutdownBondServer } from "../../src/server/shutdown.ts";
import { readSse, type SseEvent } from "../helpers/sse.ts";
import { delta, errorReply, startFakeOpenAI, stream, textReply, toolCallReply, type FakeOpenAI } from "../helpers/fake-openai.ts";

const KEY = "sk-e2e-SECRET-abcdef0123456789";

let fake: FakeOpenAI;
let app: BondServer;
let base: string;

beforeAll(() => {
  fake = startFakeOpenAI();
  const model = new OpenAIModel({ model: "gpt-4o-mini", apiKey: KEY, baseURL: fake.baseURL, firstTokenTimeoutMs: 1000, maxRetries: 0 });
  const agent = new BondAgent({ name: "e2e", instructions: "Use tools.", model, tools: [calculatorTool] });
  app = createBondServer(agent, { heartbeat_seconds: 5, shutdown_grace_seconds: 1 });
  app.listen({ hostname: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${app.server?.port}`;
});

afterAll(async () => {
  await shutdownBondServer(app, 500);
  await fake.close();
});

/** Reads one run's SSE stream to its end (the shared test SSE client). */
async function readRun(sessionId: string): Promise<SseEvent[]> {
  const stream = await readSse(`${base}/stream/${sessionId}`);
  expect(stream.status).toBe(200);
  expect(stream.headers.get("content-type")).toContain("text/event-stream");
  return stream.events;
}

async function ask(prompt: string, sessionId?: string): Promise<string> {
  const res = await fetch(`${base}/ask`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt, session_id: sessionId ?? null }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { session_id: string; stream_url: string };
  expect(body.stream_url).toBe(`/stream/${body.session_id}`);
  return body.session_id;
}

test("/health names the model, never the key", async () => {
  const res = await fetch(`${base}/health`);
  const text = await res.text();
  expect(JSON.parse(text).model).toBe("openai:gpt-4o-mini");
  expect(text).not.toContain(KEY);
});

test("a tool call, then a second round that answers with its result, streamed over SSE", async () => {
  fake.enqueue(
    toolCallReply("call_1", "calculator", ['{"expr', 'ession"', ':"12', "*7", '"}'], { prompt: 40, completion: 12 }),
    textReply(["12*7 ", "is ", "84."], { prompt: 60, completion: 3 }),
  );
  const sid = await ask("What is 12*7?");
  const events = await readRun(sid);
  const names = events.map((e) => e.event);

  expect(names.filter((n) => n === "tool_delta").length).toBeGreaterThanOrEqual(5);
  const exec = events.find((e) => e.event === "tool_exec");
  expect(exec?.data).toEqual({ id: "call_1", name: "calculator", args: { expression: "12*7" } });
  const result = events.find((e) => e.event === "tool_result");
  expect(result?.data).toEqual({ id: "call_1", name: "calculator", result: "84", is_error: false });
  expect(names.indexOf("tool_exec")).toBeLessThan(names.indexOf("tool_result"));
  expect(names.indexOf("tool_result")).toBeLessThan(names.indexOf("text"));
  expect(events.at(-1)).toMatchObject({ event: "complete", data: { data: "12*7 is 84." } });

  const usage = events.findLast((e) => e.event === "usage");
  expect(usage?.data).toEqual({
    prompt_tokens: 100,
    completion_tokens: 15,
    total_tokens: 115,
    total_cost: (costOf("gpt-4o-mini", 40, 12) ?? 0) + (costOf("gpt-4o-mini", 60, 3) ?? 0),
    model: "openai:gpt-4o-mini",
  });

  // The second round carried the call and its result, linked by tool_call_id, and the tool's schema.
  expect(fake.received.length).toBe(2);
  const second = fake.received[1]!.body;
  const messages = second.messages as { role: string; tool_call_id?: string; content?: unknown }[];
  expect(messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
  expect(messages[3]).toEqual({ role: "tool", tool_call_id: "call_1", content: "84" });
  const tools = second.tools as { function: { name: string; parameters: { required: string[] } } }[];
  expect(tools[0]?.function.name).toBe("calculator");
  expect(tools[0]?.function.parameters.required).toEqual(["expression"]);
});

test("a provider fault becomes one error event after usage, and the session takes the next prompt", async () => {
  fake.received.length = 0;
  fake.enqueue(errorReply(401, `Incorrect API key provided: ${KEY}.`, {}, "invalid_api_key"));
  const sid = await ask("Hello?");
  const failed = await readRun(sid);
  expect(failed.at(-1)?.event).toBe("error");
  expect(failed.at(-2)?.event).toBe("usage");
  const message = String(failed.at(-1)?.data.error);
  expect(message).toContain("rejected the API key (401)");
  expect(JSON.stringify(failed)).not.toContain(KEY);

  fake.enqueue(textReply(["Back ", "again."]));
  expect(await ask("Try again", sid)).toBe(sid);
  const ok = await readRun(sid);
  expect(ok.at(-1)).toMatchObject({ event: "complete", data: { data: "Back again." } });
  expect(ok[0]?.id.startsWith("2:")).toBe(true);
  const lastUser = (fake.received.at(-1)!.body.messages as { role: string; content: string }[]).findLast((m) => m.role === "user");
  expect(lastUser?.content).toBe("Try again");
});

test("cancelling a run mid-stream closes the provider request at once", async () => {
  fake.enqueue(stream([delta({ role: "assistant", content: "" }), delta({ content: "Once upon" })], { hang: true }));
  const requestsBefore = fake.received.length;
  const disconnectsBefore = fake.disconnects;
  const sid = await ask("Tell me a long story");
  const reading = readRun(sid);
  // Wait until the provider request is open and its first text has had time to stream.
  for (let i = 0; fake.received.length === requestsBefore && i < 100; i++) await Bun.sleep(10);
  await Bun.sleep(100);
  const cancel = await fetch(`${base}/sessions/${sid}/cancel`, { method: "POST" });
  expect(cancel.status).toBe(202);
  const events = await reading;
  expect(events.some((e) => e.event === "text" && e.data.content === "Once upon")).toBe(true);
  expect(events.at(-1)?.event).toBe("cancelled");
  await fake.waitForDisconnect(1000, disconnectsBefore);
});
