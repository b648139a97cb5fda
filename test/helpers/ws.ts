/** A real WebSocket client that records every frame and can wait for one. */

export type Frame = Record<string, unknown>;

export interface WsClient {
  socket: WebSocket;
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  /** Waits for the next frame (after `from`) matching `match`; returns its index. */
  waitFor(match: (f: Frame) => boolean, from?: number, ms?: number): Promise<number>;
  close(): void;
}

export async function openWs(url: string, protocols?: string | string[]): Promise<WsClient> {
  const socket = new WebSocket(url, protocols);
  const frames: Frame[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }));
  });
  socket.addEventListener("message", (e) => {
    frames.push(JSON.parse(String(e.data)) as Frame);
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error("WebSocket failed to open")), { once: true });
  });
  return {
    socket,
    frames,
    closed,
    send(frame) {
      socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    },
    async waitFor(match, from = 0, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        for (let i = from; i < frames.length; i++) if (match(frames[i]!)) return i;
        if (Date.now() > deadline) throw new Error(`no matching frame after ${ms} ms; got ${JSON.stringify(frames.slice(from)).slice(0, 500)}`);
        await Bun.sleep(5);
      }
    },
    close() {
      socket.close();
    },
  };
}

/** The run-event frames (those with an "i") between two indices. */
export function runFrames(frames: Frame[], from = 0, to = frames.length): Frame[] {
  return frames.slice(from, to).filter((f) => typeof f.i === "string");
}
