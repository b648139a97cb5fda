/**
 * Incremental SSE parser over the raw bytes of a fetch body stream: scans
 * line by line with indexOf (no per-event regex), keeps the unfinished tail
 * between chunks, and dispatches each event on its blank line.
 */

export interface SseSink {
  onEvent(id: string, event: string, data: string): void;
}

export class SseParser {
  /** Value of the last `retry:` field, if any. */
  retry: number | null = null;
  private readonly decoder = new TextDecoder();
  private tail = "";
  private id = "";
  private event = "";
  private data: string | null = null;

  constructor(private readonly sink: SseSink) {}

  push(chunk: Uint8Array): void {
    const text = this.decoder.decode(chunk, { stream: true });
    const s = this.tail.length > 0 ? this.tail + text : text;
    let pos = 0;
    for (;;) {
      const nl = s.indexOf("\n", pos);
      if (nl < 0) break;
      let end = nl;
      if (end > pos && s.charCodeAt(end - 1) === 13) end--; // CRLF
      if (end === pos) this.dispatch();
      else this.line(s, pos, end);
      pos = nl + 1;
    }
    this.tail = pos < s.length ? s.slice(pos) : "";
  }

  private line(s: string, a: number, b: number): void {
    if (s.charCodeAt(a) === 58) return; // ":" comment, e.g. the heartbeat
    let colon = s.indexOf(":", a);
    if (colon < 0 || colon > b) colon = b;
    let v = colon + 1;
    if (v < b && s.charCodeAt(v) === 32) v++;
    const value = v <= b ? s.slice(v, b) : "";
    const field = s.slice(a, colon);
    if (field === "data") this.data = this.data === null ? value : `${this.data}\n${value}`;
    else if (field === "id") this.id = value;
    else if (field === "event") this.event = value;
    else if (field === "retry") this.retry = Number(value);
  }

  private dispatch(): void {
    if (this.data !== null) this.sink.onEvent(this.id, this.event || "message", this.data);
    this.id = "";
    this.event = "";
    this.data = null;
  }
}
