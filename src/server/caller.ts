import type { Server } from "bun";
import { bearerKey } from "./auth.ts";

/** Who is asking, for rate limits: the API key when auth is on, else the peer IP. */
export function callerId(request: Request, server: Server<unknown> | null, authOn: boolean): string {
  if (authOn) {
    const key = bearerKey(request);
    if (key) return `key:${key}`;
  }
  return `ip:${server?.requestIP(request)?.address ?? "unknown"}`;
}
