/**
 * A scripted OpenAI-compatible Chat Completions server on 127.0.0.1:0 for
 * tests. It speaks the real wire format (SSE `data:` frames of
 * `chat.completion.chunk` objects, `data: [DONE]`, JSON error bodies) and
 * records what it received and whether the client hung up mid-response.
 *
 * Each POST /v1/chat/completions takes the next queued reply; with the queue
 * empty it answers 500 so a test that asks too often fails loudly.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type FakeReply =
  | {
      kind: "stream";
      /** Each becomes one `data: <json>` frame; a `{ raw }` frame is written as is. */
      frames: (JsonObject | { raw: string })[];
      /** Send `data: [DONE]` after the frames (default true). */
      done?: boolean;
      /** Pause before each frame (default 0). */
      delayMs?: number;
      /** After the frames, keep the response open until the client leaves (no `[DONE]`). */
      hang?: boolean;
    }
  | { kind: "error"; status: number; body: Json | string; headers?: Record<string, string> }
  /** Accept the request and never send response headers (until the client leaves). */
  | { kind: "silent" };

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: JsonObject;
}

export interface FakeOpenAI {
  /** For the SDK: `http://127.0.0.1:<port>/v1`. */
  readonly baseURL: string;
  readonly received: ReceivedRequest[];
  /** Requests whose client went away before the reply was complete. */
  readonly disconnects: number;
  enqueue(...replies: FakeReply[]): void;
  /** Resolves once more than `after` mid-reply disconnects were seen (default 0); rejects after `timeoutMs`. */
  waitForDisconnect(timeoutMs?: number, after?: number): Promise<void>;
  close(): Promise<void>;
}

const MODEL = "fake-model";
const encoder = new TextEncoder();

/** One streamed chunk carrying `delta` for choice 0. */
export function delta(d: JsonObject, finishReason: string | null = null): JsonObject {
  return {
    id: "chatcmpl-fake",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: MODEL,
    choices: [{ index: 0, delta: d, logprobs: null, finish_reason: finishReason }],
  };
}

export function finish(reason = "stop"): JsonObject {
  return delta({}, reason);
}

/** The final chunk `stream_options.include_usage` asks for: no choices, just usage. */
export function usage(promptTokens: number, completionTokens: number): JsonObject {
  return {
    id: "chatcmpl-fake",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: MODEL,
    choices: [],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/** A tool-call fragment as OpenAI streams it: id, type and name on the first fragment only. */
export function toolFragment(index: number, part: { id?: string; name?: string; args?: string }): JsonObject {
  const fn: JsonObject = {};
  if (part.name !== undefined) fn.name = part.name;
  if (part.args !== undefined) fn.arguments = part.args;
  const call: JsonObject = { index, function: fn };
  if (part.id !== undefined) {
    call.id = part.id;
    call.type = "function";
  }
  return delta({ tool_calls: [call] });
}

export function stream(frames: (JsonObject | { raw: string })[], options: Omit<Extract<FakeReply, { kind: "stream" }>, "kind" | "frames"> = {}): FakeReply {
  return { kind: "stream", frames, ...options };
}

/** A complete plain-text answer: role chunk, one chunk per part, stop, usage, [DONE]. */
export function textReply(parts: string[], tokens: { prompt: number; completion: number } = { prompt: 10, completion: parts.length }): FakeReply {
  return stream([
    delta({ role: "assistant", content: "" }),
    ...parts.map((content) => delta({ content })),
    finish("stop"),
    usage(tokens.prompt, tokens.completion),
  ]);
}

/** A turn that calls one tool, its arguments split into `argParts`. */
export function toolCallReply(id: string, name: string, argParts: string[], tokens = { prompt: 20, completion: 8 }): FakeReply {
  return stream([
    delta({ role: "assistant", content: null }),
    toolFragment(0, { id, name, args: "" }),
    ...argParts.map((args) => toolFragment(0, { args })),
    finish("tool_calls"),
    usage(tokens.prompt, tokens.completion),
  ]);
}

/** An error response with OpenAI's body shape `{ error: { message, type, code } }`. */
export function errorReply(status: number, message: string, headers: Record<string, string> = {}, code: string | null = null): FakeReply {
  return { kind: "error", status, headers, body: { error: { message, type: "invalid_request_error", param: null, code } } };
}

function sseFrame(frame: JsonObject | { raw: string }): string {
  return "raw" in frame && typeof frame.raw === "string" ? frame.raw : `data: ${JSON.stringify(frame)}\n\n`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export function startFakeOpenAI(): FakeOpenAI {
  const queue: FakeReply[] = [];
  const received: ReceivedRequest[] = [];
  const closing = new AbortController();
  let disconnects = 0;
  const disconnectWaiters = new Set<() => void>();

  function noteDisconnect(): void {
    disconnects++;
    for (const wake of disconnectWaiters) wake();
  }

  /** Counts one disconnect if the client goes away before `finished()` is called. */
  function watch(req: Request): { left: AbortSignal; leave(): void; finished(): void } {
    const left = new AbortController();
    let done = false;
    const onAbort = (): void => {
      if (done) return;
      done = true;
      if (!closing.signal.aborted) noteDisconnect();
      left.abort();
    };
    req.signal.addEventListener("abort", onAbort, { once: true });
    closing.signal.addEventListener("abort", () => left.abort(), { once: true });
    return {
      left: left.signal,
      leave: onAbort,
      finished() {
        done = true;
        req.signal.removeEventListener("abort", onAbort);
      },
    };
  }

  function streamResponse(reply: Extract<FakeReply, { kind: "stream" }>, req: Request): Response {
    const frames = reply.frames.map(sseFrame);
    if (reply.done !== false && !reply.hang) frames.push("data: [DONE]\n\n");
    const watcher = watch(req);
    let next = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (next < frames.length) {
          if (reply.delayMs) await sleep(reply.delayMs, watcher.left);
          if (watcher.left.aborted) return;
          controller.enqueue(encoder.encode(frames[next++]));
          return;
        }
        if (reply.hang) {
          await sleep(60_000, watcher.left);
          return;
        }
        watcher.finished();
        controller.close();
      },
      cancel() {
        // Bun cancels the body when the client disconnects mid-response.
        watcher.leave();
      },
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") {
      return Response.json({ error: { message: `fake: no route ${req.method} ${url.pathname}` } }, { status: 404 });
    }
    const headers: Record<string, string> = {};
    req.headers.forEach((value, key) => {
      headers[key] = value;
    });
    const body = (await req.json()) as JsonObject;
    received.push({ method: req.method, path: url.pathname, headers, body });

    const reply = queue.shift();
    if (!reply) return Response.json({ error: { message: "fake: no scripted reply left" } }, { status: 500 });
    switch (reply.kind) {
      case "error": {
        const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
        const type = typeof reply.body === "string" ? "text/plain" : "application/json";
        return new Response(text, { status: reply.status, headers: { "content-type": type, ...reply.headers } });
      }
      case "silent": {
        const watcher = watch(req);
        await sleep(60_000, watcher.left);
        return new Response("late", { status: 504 });
      }
      case "stream":
        return streamResponse(reply, req);
    }
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 30,
    fetch: handle,
  });

  return {
    baseURL: `http://127.0.0.1:${server.port}/v1`,
    received,
    get disconnects() {
      return disconnects;
    },
    enqueue(...replies) {
      queue.push(...replies);
    },
    waitForDisconnect(timeoutMs = 2000, after = 0) {
      if (disconnects > after) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          disconnectWaiters.delete(wake);
          reject(new Error(`fake: no disconnect within ${timeoutMs} ms`));
        }, timeoutMs);
        function wake(): void {
          if (disconnects <= after) return;
          clearTimeout(timer);
          disconnectWaiters.delete(wake);
          resolve();
        }
        disconnectWaiters.add(wake);
      });
    },
    async close() {
      closing.abort();
      await server.stop(true);
    },
  };
}

/** A loopback port with nothing listening on it: for "connection refused". */
export async function closedPortURL(): Promise<string> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = probe.port;
  await probe.stop(true);
  return `http://127.0.0.1:${port}/v1`;
}

/**
 * A raw TCP server that answers every request with a chunked SSE response of
 * `frames` and then closes the socket without the final chunk: a connection
 * that breaks mid-body. (Bun.serve can only do that by logging an error.)
 */
export function startCuttingServer(frames: JsonObject[]): { baseURL: string; requests(): number; close(): void } {
  let requests = 0;
  const server = Bun.listen<{ buffer: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { buffer: "" };
      },
      data(socket, bytes) {
        socket.data.buffer += bytes.toString();
        const buffer = socket.data.buffer;
        const headEnd = buffer.indexOf("\r\n\r\n");
        if (headEnd < 0) return;
        const length = Number(/content-length:\s*(\d+)/i.exec(buffer.slice(0, headEnd))?.[1] ?? 0);
        if (Buffer.byteLength(buffer) < Buffer.byteLength(buffer.slice(0, headEnd + 4)) + length) return;
        socket.data.buffer = "";
        requests++;
        let response = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        for (const frame of frames) {
          const text = sseFrame(frame);
          response += `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
        }
        socket.write(response);
        // Let the frames arrive, then close with the chunked body unfinished.
        setTimeout(() => socket.end(), 30);
      },
    },
  });
  return {
    baseURL: `http://127.0.0.1:${server.port}/v1`,
    requests: () => requests,
    close: () => server.stop(true),
  };
}
