/** A small real SSE client over fetch: parses frames incrementally as bytes arrive. */

export interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** Frames seen so far, comments included (for heartbeat checks). */
  comments: string[];
  retry: number | null;
  events: SseEvent[];
  /** Resolves when the server closes the stream. */
  done: Promise<void>;
  /** Waits until `n` events have arrived. */
  waitForEvents(n: number, ms?: number): Promise<void>;
  /** Drops the connection, as a client that goes away would. */
  abort(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const stream: SseStream = {
    status: res.status,
    headers: res.headers,
    comments: [],
    retry: null,
    events: [],
    done: Promise.resolve(),
    async waitForEvents(n, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (stream.events.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${stream.events.length} of ${n} events after ${ms} ms`);
        await Bun.sleep(5);
      }
    },
    abort() {
      controller.abort();
    },
  };
  if (!res.body) return stream;
  stream.done = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          parseFrame(buffer.slice(0, cut), stream);
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch {
      // aborted by the test
    }
  })();
  return stream;
}

function parseFrame(frame: string, stream: SseStream): void {
  let id = "";
  let event = "message";
  const data: string[] = [];
  for (const line of frame.split("\n")) {
    if (line.startsWith(":")) stream.comments.push(line);
    else if (line.startsWith("retry: ")) stream.retry = Number(line.slice(7));
    else if (line.startsWith("id: ")) id = line.slice(4);
    else if (line.startsWith("event: ")) event = line.slice(7);
    else if (line.startsWith("data: ")) data.push(line.slice(6));
  }
  if (data.length > 0) stream.events.push({ id, event, data: JSON.parse(data.join("\n")) as Record<string, unknown> });
}

/** Opens the stream and waits for the server to close it. */
export async function readSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const stream = await openSse(url, headers);
  await stream.done;
  return stream;
}
