/** One WebSocket as a pull-based queue of text frames, so a transport can `await` the next one. */
import { BondError } from "./errors.ts";
import type { WebSocketConstructor, WebSocketEventLike, WebSocketLike } from "./types.ts";

export type SocketItem =
  | { kind: "frame"; text: string }
  | { kind: "closed"; code: number; reason: string }
  | { kind: "interrupted" };

const OPEN = 1;

export interface SocketInit {
  protocols?: string[];
  headers?: Record<string, string>;
}

type HeaderWebSocketConstructor = new (url: string, init: { headers: Record<string, string>; protocols: string[] }) => WebSocketLike;

export class WsSocket {
  private readonly frames: SocketItem[] = [];
  private waiter: ((item: SocketItem) => void) | null = null;
  private closedItem: SocketItem | null = null;

  private constructor(private readonly ws: WebSocketLike) {}

  /** Opens a socket; rejects with a `connection_lost` BondError if it closes before opening. */
  static open(Ctor: WebSocketConstructor, url: string, target: SocketInit, signal?: AbortSignal): Promise<WsSocket> {
    return new Promise((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        if (target.headers) {
          // Bun / Node 22+ only: the options form of the constructor (browsers have none).
          ws = new (Ctor as unknown as HeaderWebSocketConstructor)(url, { headers: target.headers, protocols: target.protocols ?? [] });
        } else {
          ws = target.protocols ? new Ctor(url, target.protocols) : new Ctor(url);
        }
      } catch (cause) {
        // e.g. a browser refusing an API key that is not a valid subprotocol token
        return reject(new BondError(`cannot open WebSocket: ${cause instanceof Error ? cause.message : String(cause)}`, { code: "protocol", cause }));
      }
      const socket = new WsSocket(ws);
      let opened = false;
      const onAbort = (): void => {
        ws.close(1000, "aborted");
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      ws.addEventListener("open", () => {
        opened = true;
        signal?.removeEventListener("abort", onAbort);
        resolve(socket);
      });
      ws.addEventListener("message", (event) => socket.onMessage(event));
      ws.addEventListener("close", (event) => {
        socket.onClose(event.code ?? 1006, event.reason ?? "");
        if (!opened) {
          signal?.removeEventListener("abort", onAbort);
          reject(new BondError(`WebSocket closed before opening (${event.code ?? 1006})`, { code: "connection_lost" }));
        }
      });
      // An "error" is always followed by "close"; the close carries the outcome.
      ws.addEventListener("error", () => undefined);
    });
  }

  get isOpen(): boolean {
    return this.closedItem === null && this.ws.readyState === OPEN;
  }

  send(frame: Record<string, unknown>): boolean {
    if (!this.isOpen) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** The next item; resolves `interrupted` if `signal` aborts or `timeoutMs` passes first. */
  next(signal?: AbortSignal, timeoutMs = 0): Promise<SocketItem> {
    const queued = this.frames.shift() ?? this.closedItem;
    if (queued) return Promise.resolve(queued);
    if (signal?.aborted) return Promise.resolve({ kind: "interrupted" });
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (item: SocketItem): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.waiter = null;
        resolve(item);
      };
      const onAbort = (): void => finish({ kind: "interrupted" });
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs > 0) timer = setTimeout(onAbort, timeoutMs);
      this.waiter = finish;
    });
  }

  /** Close now and report it at once, without waiting for a dead peer's close handshake. */
  close(code = 1000, reason = ""): void {
    this.onClose(code, reason);
    try {
      this.ws.close(code, reason);
    } catch {
      // already closing
    }
  }

  private onMessage(event: WebSocketEventLike): void {
    const text = frameText(event.data);
    if (text === null || this.closedItem) return;
    this.deliver({ kind: "frame", text });
  }

  private onClose(code: number, reason: string): void {
    if (this.closedItem) return;
    this.closedItem = { kind: "closed", code, reason };
    if (this.waiter) this.waiter(this.closedItem);
  }

  private deliver(item: SocketItem): void {
    if (this.waiter) this.waiter(item);
    else this.frames.push(item);
  }
}

/** Text of a frame: a string in browsers, Bun, Node and `ws`'s event API; bytes decoded just in case. */
function frameText(data: unknown): string | null {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return null; // a Blob would mean binaryType "blob" and a binary frame: the server sends none
}
