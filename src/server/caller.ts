import { bearerKey } from "./auth.ts";

/**
 * Who is asking, for rate limits: the API key when auth is on, else the peer
 * address (HTTP and WS report IPv4 peers differently: normalise the mapped form).
 */
export function callerId(request: Request, peerAddress: string | undefined, authOn: boolean): string {
  if (authOn) {
    const key = bearerKey(request);
    if (key) return `key:${key}`;
  }
  const address = peerAddress?.startsWith("::ffff:") ? peerAddress.slice(7) : peerAddress;
  return `ip:${address ?? "unknown"}`;
}
