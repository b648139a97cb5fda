import type { Session } from "./session.ts";

/** Where sessions live. In memory now; a distributed store can implement the same seam. */
export interface SessionStore {
  get(id: string): Session | undefined;
  set(session: Session): void;
  delete(id: string): boolean;
  readonly size: number;
  values(): IterableIterator<Session>;
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Session>();

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  set(session: Session): void {
    this.sessions.set(session.id, session);
  }

  delete(id: string): boolean {
    return this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  values(): IterableIterator<Session> {
    return this.sessions.values();
  }
}
