/** `X-Request-Id`: a caller's own id is kept when it is safe to echo and log; otherwise one is made. */

export const REQUEST_ID_HEADER = "x-request-id";
export const MAX_REQUEST_ID_CHARS = 128;

/** Printable ASCII (no control characters, nothing that could split a header or a log line), 1–128 characters, no outer spaces. */
const VALID = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;

export function isValidRequestId(value: string): boolean {
  return VALID.test(value);
}

/** The incoming id when valid, else a new UUID. */
export function requestIdFor(incoming: string | null): string {
  return incoming !== null && VALID.test(incoming) ? incoming : crypto.randomUUID();
}
