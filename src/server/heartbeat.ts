/**
 * One shared timer for every open stream's keep-alive (SSE `: ping`, WS ping),
 * so an idle stream costs no timer of its own.
 */
export class Heartbeat {
  private readonly beats = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly intervalMs: number) {}

  /** Registers `beat`; returns a function that unregisters it. */
  add(beat: () => void): () => void {
    this.beats.add(beat);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref?.();
    }
    return () => {
      this.beats.delete(beat);
    };
  }

  get size(): number {
    return this.beats.size;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    for (const beat of this.beats) {
      try {
        beat();
      } catch {
        // A stream that broke under us: it unregisters itself on close.
      }
    }
  }
}
