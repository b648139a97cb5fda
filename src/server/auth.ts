/**
 * Bearer-key check in constant time; keys are compared as hashes so their lengths leak nothing either.
 * Bun's native hasher and global `crypto.timingSafeEqual`: importing node:crypto costs ~3 ms of every start.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The matching key (to identify the caller), or null. */
  match(presented: string | null): string | null {
    if (!presented) return null;
    const d = digest(presented);
    let found = false;
    for (const k of this.digests) found = crypto.timingSafeEqual(k, d) || found;
    return found ? presented : null;
  }
}

function digest(key: string): Buffer {
  return Bun.CryptoHasher.hash("sha256", key);
}

/** The key from `Authorization: Bearer <key>`, or null. */
export function bearerKey(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}
