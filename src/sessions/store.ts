import type { Session } from "./session.ts";

/**
 * Where sessions live. In memory now; a distributed store can implement the same seam.
 * Sessions are keyed by `session.key` (their id, prefixed with the owner's key id when auth is on).
 */
export interface SessionStore {
  get(key: string): Session | undefined;
  set(session: Session): void;
  delete(key: string): boolean;
  readonly size: number;
  values(): IterableIterator<Session>;
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Session>();

  get(key: string): Session | undefined {
    return this.sessions.get(key);
  }

  set(session: Session): void {
    this.sessions.set(session.key, session);
  }

  delete(key: string): boolean {
    return this.sessions.delete(key);
  }

  get size(): number {
    return this.sessions.size;
  }

  values(): IterableIterator<Session> {
    return this.sessions.values();
  }
}
