/**
 * Incremental text/event-stream parser (the WHATWG "interpret an event stream" rules).
 * Feed it bytes as they arrive: frames, lines and multi-byte UTF-8 characters may be
 * split anywhere across chunks.
 */

export interface SseMessage {
  /** The `event:` field; "message" when the frame had none. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last event id seen on the stream (it persists across frames, as in EventSource). */
  id: string | undefined;
}

export class SseParser {
  // Streaming mode keeps a partial UTF-8 sequence until its last byte arrives; a leading BOM is dropped.
  private readonly decoder = new TextDecoder("utf-8");
  private buffer = "";
  private eventType = "";
  private data = "";
  private hasData = false;
  private lastId: string | undefined;
  private retryMs: number | undefined;

  /** The reconnection delay the server asked for with `retry:`, if any. */
  get retry(): number | undefined {
    return this.retryMs;
  }

  /** The stream's current last event id. */
  get lastEventId(): string | undefined {
    return this.lastId;
  }

  /** Add a chunk; returns the frames it completed, in order. */
  push(chunk: Uint8Array | string): SseMessage[] {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.drainLines(false);
  }

  /** The stream ended: a frame without its closing blank line is discarded, as the spec says. */
  end(): SseMessage[] {
    this.buffer += this.decoder.decode();
    const out = this.drainLines(true);
    this.buffer = "";
    this.resetFrame();
    return out;
  }

  private drainLines(final: boolean): SseMessage[] {
    const out: SseMessage[] = [];
    let start = 0;
    const buf = this.buffer;
    for (let i = 0; i < buf.length; i++) {
      const ch = buf.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      // A "\r" as the chunk's last character may be the first half of "\r\n": wait for more.
      if (ch === 13 && i === buf.length - 1 && !final) break;
      const message = this.line(buf.slice(start, i));
      if (message) out.push(message);
      if (ch === 13 && buf.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buffer = buf.slice(start);
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === "") return this.dispatch();
    if (line.charCodeAt(0) === 58) return undefined; // ":" comment, e.g. the ": ping" heartbeat
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data = this.hasData ? `${this.data}\n${value}` : value;
        this.hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.lastId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const message: SseMessage | undefined = this.hasData
      ? { event: this.eventType || "message", data: this.data, id: this.lastId }
      : undefined;
    this.resetFrame();
    return message;
  }

  private resetFrame(): void {
    this.eventType = "";
    this.data = "";
    this.hasData = false;
  }
}
