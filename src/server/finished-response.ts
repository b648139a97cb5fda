/** What Elysia's handler context keeps for the response: the headers and status its hooks queued. */
export interface PendingResponseSet {
  headers: Record<string, string | number>;
  status?: number | string;
  cookie?: unknown;
}

/**
 * A Response that carries the headers hooks queued on `set` (security headers, CORS, the
 * request id) itself, with `set` emptied, so Elysia hands it to Bun as it is. Given a Response
 * and queued headers, Elysia rebuilds it: two `Headers` objects and a second Response per
 * request, and the kept one's `Headers` wrapper stays alive as long as the response does
 * (~600 bytes for every open stream). `own` headers (lower-case names) win over queued ones,
 * as in Elysia's merge.
 * With a cookie queued, Elysia's own merge runs (it serialises cookies).
 */
export function finishedResponse(
  body: BodyInit | null,
  status: number,
  own: Readonly<Record<string, string>>,
  set: PendingResponseSet,
): Response {
  if (set.cookie !== undefined || (set.status !== undefined && set.status !== 200)) {
    return new Response(body, { status, headers: own });
  }
  const headers: Record<string, string> = {};
  for (const name in set.headers) headers[name.toLowerCase()] = String(set.headers[name]);
  for (const name in own) headers[name] = own[name]!;
  set.headers = {};
  return new Response(body, { status, headers });
}
