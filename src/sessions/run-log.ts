import { isTerminal, type AgentEvent } from "../agent/events.ts";

/** One logged event with its id; each transport's encoding is made once and shared by every subscriber. */
export interface LoggedEvent {
  readonly id: string;
  readonly event: AgentEvent;
  sse: Uint8Array | null;
  ws: string | null;
}

/**
 * The ordered events of one run. Subscribers read it from their own cursor at
 * their own pace, which gives replay, resume and fan-out, and keeps a slow
 * reader from ever slowing the agent.
 */
export class RunLog {
  readonly events: LoggedEvent[] = [];
  private ended = false;
  private waiters: Array<() => void> = [];

  constructor(readonly run: number) {}

  get length(): number {
    return this.events.length;
  }

  /** True once the terminal event is in the log. */
  get isEnded(): boolean {
    return this.ended;
  }

  append(event: AgentEvent): void {
    if (this.ended) return; // exactly one terminal event, last
    this.events.push({ id: `${this.run}:${this.events.length + 1}`, event, sse: null, ws: null });
    if (isTerminal(event)) this.ended = true;
    const waiters = this.waiters;
    if (waiters.length > 0) {
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves when the log has an event at `cursor` or has ended (at once if so already). */
  waitFor(cursor: number): Promise<void> {
    if (cursor < this.events.length || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Calls `wake` once when the log next grows or ends; returns a function that forgets it. */
  onNext(wake: () => void): () => void {
    this.waiters.push(wake);
    return () => {
      const i = this.waiters.indexOf(wake);
      if (i >= 0) this.waiters.splice(i, 1);
    };
  }
}
