/**
 * A minimal HTTP/1.1 client over `Bun.connect` for the load generator: one
 * keep-alive socket, one request at a time, and a response parser that reads
 * only what the benchmark needs (status line, content-length, chunked
 * transfer-encoding, connection: close). Body bytes go to the caller inside
 * the socket's data callback: no Response/ReadableStream/promise per chunk,
 * so client-side overhead (and its GC) stays out of the latency figures.
 */
import type { Socket } from "bun";

/** Receives one response. Body chunks are views valid only during the call. */
export interface ResponseSink {
  onHead(status: number, headers: ReadonlyMap<string, string>): void;
  onBody(chunk: Uint8Array): void;
  onEnd(): void;
  /** Connection lost or unreadable response; nothing more is delivered. */
  onError(why: string): void;
}

const enum S {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailer,
  UntilClose,
  Done,
}

const CR = 13;
const LF = 10;
const latin1 = new TextDecoder("latin1");
const MAX_HEAD = 64 * 1024;

/**
 * Incremental response parser: feed it the socket's bytes split anywhere.
 * Exposed on its own so tests can drive it without a socket.
 */
export class ResponseParser {
  state = S.Idle;
  /** Whether the connection may carry another request after this response. */
  keepAlive = true;
  private head: Uint8Array | null = null;
  private remaining = 0;
  private line = "";
  private sink: ResponseSink | null = null;

  private bodyless = false;

  begin(sink: ResponseSink, bodyless = false): void {
    this.sink = sink;
    this.state = S.Head;
    this.head = null;
    this.line = "";
    this.bodyless = bodyless;
  }

  get busy(): boolean {
    return this.state !== S.Idle && this.state !== S.Done;
  }

  /** Feeds bytes; returns an error string if the bytes cannot be a response (then the connection is unusable). */
  push(data: Uint8Array): string | null {
    let p = 0;
    while (p < data.length) {
      switch (this.state) {
        case S.Idle:
        case S.Done:
          return "bytes outside a response";
        case S.Head: {
          const r = this.readHead(data, p);
          if (typeof r === "string") return r;
          p = r;
          break;
        }
        case S.Length:
          p = this.forwardBody(data, p);
          if (this.remaining === 0) this.finish();
          break;
        case S.UntilClose:
          this.sink?.onBody(p === 0 ? data : data.subarray(p));
          p = data.length;
          break;
        case S.ChunkSize:
        case S.Trailer:
        case S.ChunkDataEnd: {
          // Line-oriented states: collect up to LF.
          const b = data[p++] as number;
          if (b !== LF) {
            if (b !== CR) this.line += String.fromCharCode(b);
            if (this.line.length > 1024) return "chunk line too long";
            break;
          }
          const line = this.line;
          this.line = "";
          if (this.state === S.ChunkDataEnd) {
            if (line !== "") return "missing CRLF after chunk";
            this.state = S.ChunkSize;
          } else if (this.state === S.Trailer) {
            if (line === "") this.finish();
          } else {
            const semi = line.indexOf(";");
            const size = Number.parseInt(semi >= 0 ? line.slice(0, semi) : line, 16);
            if (!Number.isFinite(size) || size < 0) return "bad chunk size";
            if (size === 0) this.state = S.Trailer;
            else {
              this.remaining = size;
              this.state = S.ChunkData;
            }
          }
          break;
        }
        case S.ChunkData:
          p = this.forwardBody(data, p);
          if (this.remaining === 0) this.state = S.ChunkDataEnd;
          break;
      }
    }
    return null;
  }

  /** Hands the sink up to `remaining` body bytes from `p`; returns where the rest starts. */
  private forwardBody(data: Uint8Array, p: number): number {
    const take = Math.min(this.remaining, data.length - p);
    this.sink?.onBody(data.subarray(p, p + take));
    this.remaining -= take;
    return p + take;
  }

  /** The connection closed: ends a close-delimited body, fails anything else in flight. */
  closed(): void {
    if (this.state === S.UntilClose) this.finish();
    else this.fail("connection closed mid-response");
  }

  /** Gives up on the response in flight (if any) and on the connection. */
  fail(why: string): void {
    const sink = this.sink;
    this.keepAlive = false;
    if (!this.busy) return;
    this.state = S.Done;
    this.sink = null;
    sink?.onError(why);
  }

  private readHead(data: Uint8Array, p: number): number | string {
    const chunk = p === 0 ? data : data.subarray(p);
    const buf = this.head ? concat(this.head, chunk) : chunk;
    const end = findHeadEnd(buf, this.head ? Math.max(0, this.head.length - 3) : 0);
    if (end < 0) {
      if (buf.length > MAX_HEAD) return "response head too large";
      this.head = buf === chunk ? chunk.slice() : buf; // keep a copy: the socket may reuse its buffer
      return data.length;
    }
    const consumedFromChunk = end + 4 - (this.head?.length ?? 0);
    this.head = null;
    const lines = latin1.decode(buf.subarray(0, end)).split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
    if (!m) return "bad status line";
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i] as string;
      const c = l.indexOf(":");
      if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
    }
    this.keepAlive = !/\bclose\b/i.test(headers.get("connection") ?? "") && lines[0]?.startsWith("HTTP/1.1") === true;
    this.sink?.onHead(status, headers);
    const te = headers.get("transfer-encoding");
    const cl = headers.get("content-length");
    if (this.bodyless || status === 204 || status === 304 || (status >= 100 && status < 200)) this.finish();
    else if (te !== undefined && /\bchunked\b/i.test(te)) this.state = S.ChunkSize;
    else if (cl !== undefined) {
      const n = Number(cl);
      if (!Number.isInteger(n) || n < 0) return "bad content-length";
      this.remaining = n;
      if (n === 0) this.finish();
      else this.state = S.Length;
    } else {
      this.keepAlive = false;
      this.state = S.UntilClose;
    }
    return p + consumedFromChunk;
  }

  private finish(): void {
    const sink = this.sink;
    this.state = S.Done;
    this.sink = null;
    sink?.onEnd();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function findHeadEnd(b: Uint8Array, from: number): number {
  for (let i = from; i + 3 < b.length; i++) if (b[i] === CR && b[i + 1] === LF && b[i + 2] === CR && b[i + 3] === LF) return i;
  return -1;
}

/** One keep-alive connection; `request` may be called again once the previous response ended. */
export class Http1Conn {
  readonly parser = new ResponseParser();
  private socket: Socket<undefined> | null = null;
  private unsent: Uint8Array | null = null;
  dead = false;

  private constructor(readonly host: string) {}

  static async open(hostname: string, port: number): Promise<Http1Conn> {
    const conn = new Http1Conn(`${hostname}:${port}`);
    conn.socket = await Bun.connect({
      hostname,
      port,
      socket: {
        data: (_s, data) => conn.onData(data),
        drain: () => conn.flush(),
        close: () => conn.onClose(),
        end: () => conn.onClose(),
        error: () => conn.onClose(),
        connectError: () => undefined, // Bun.connect rejects; the caller reports it
      },
    });
    conn.socket.setNoDelay(true);
    return conn;
  }

  /** True when another request can go out on this socket. */
  get reusable(): boolean {
    return !this.dead && this.parser.keepAlive && !this.parser.busy;
  }

  /** Sends `head` (request line + headers, without the blank line) and an optional body. */
  request(method: string, path: string, headers: string, body: string | null, sink: ResponseSink): void {
    if (this.dead) {
      sink.onError("connection closed");
      return;
    }
    this.parser.begin(sink, method === "HEAD");
    const len = body === null ? "" : `Content-Length: ${Buffer.byteLength(body)}\r\n`;
    this.write(`${method} ${path} HTTP/1.1\r\nHost: ${this.host}\r\n${headers}${len}\r\n${body ?? ""}`);
  }

  close(): void {
    this.dead = true;
    this.socket?.end();
  }

  /** Drops the connection now, failing the response in flight with `why`. */
  abort(why: string): void {
    this.dead = true;
    this.parser.fail(why);
    this.socket?.terminate();
  }

  private write(text: string): void {
    const s = this.socket;
    if (!s) return;
    if (this.unsent) {
      this.unsent = concat(this.unsent, Buffer.from(text));
      return;
    }
    const bytes = Buffer.from(text);
    const n = s.write(bytes);
    if (n < bytes.length) this.unsent = bytes.subarray(Math.max(0, n));
  }

  private flush(): void {
    const s = this.socket;
    const u = this.unsent;
    if (!s || !u) return;
    const n = s.write(u);
    this.unsent = n < u.length ? u.subarray(Math.max(0, n)) : null;
  }

  private onData(data: Uint8Array): void {
    const err = this.parser.push(data);
    if (err) {
      this.dead = true;
      this.parser.fail(err);
      this.socket?.terminate();
    }
  }

  private onClose(): void {
    if (this.dead && !this.parser.busy) return;
    this.dead = true;
    this.parser.closed();
  }
}

/** Idle keep-alive connections to one server, for sequential or concurrent runs. */
export class ConnPool {
  private readonly idle: Http1Conn[] = [];
  /** Connections opened so far (keep-alive check in tests). */
  opened = 0;
  private readonly hostname: string;
  private readonly port: number;

  constructor(base: string) {
    const u = new URL(base);
    this.hostname = u.hostname;
    this.port = Number(u.port || 80);
  }

  async get(): Promise<Http1Conn> {
    for (;;) {
      const c = this.idle.pop();
      if (!c) {
        this.opened++;
        return Http1Conn.open(this.hostname, this.port);
      }
      if (c.reusable) return c;
    }
  }

  release(c: Http1Conn): void {
    if (c.reusable) this.idle.push(c);
    else c.close();
  }

  close(): void {
    for (const c of this.idle.splice(0)) c.close();
  }
}
