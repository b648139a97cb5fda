/** Something kept alive by the shared heartbeat: an object, so a stream registers itself, not a closure. */
export interface HeartbeatMember {
  beat(): void;
}

/**
 * One shared timer for every open stream's keep-alive (SSE `: ping`, WS ping),
 * so an idle stream costs no timer of its own.
 */
export class Heartbeat {
  private readonly members = new Set<HeartbeatMember>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly intervalMs: number) {}

  /** Beats `member` every interval until it is removed. */
  add(member: HeartbeatMember): void {
    this.members.add(member);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref?.();
    }
  }

  remove(member: HeartbeatMember): void {
    this.members.delete(member);
  }

  get size(): number {
    return this.members.size;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    for (const member of this.members) {
      try {
        member.beat();
      } catch {
        // A stream that broke under us: it unregisters itself on close.
      }
    }
  }
}
