export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** The one error shape (API.md §2): `{"error": "<message>"}`, never a stack trace. */
export function jsonError(status: number, message: string, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify({ error: message }), {
    status,
    headers: { "content-type": JSON_CONTENT_TYPE, ...headers },
  });
}

export function jsonResponse(status: number, body: unknown, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": JSON_CONTENT_TYPE, ...headers },
  });
}

/** On every response: no MIME sniffing, no referrer (stream URLs may carry a token), no framing. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** 401: the message never says which part was wrong, and never echoes what was presented. */
export function unauthorized(): Response {
  return jsonError(401, "Missing or invalid API key.", { "www-authenticate": 'Bearer realm="bond"' });
}
