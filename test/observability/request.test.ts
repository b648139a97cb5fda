import { describe, expect, test } from "bun:test";
import { isValidRequestId, MAX_REQUEST_ID_CHARS, requestIdFor } from "../../src/observability/request-id.ts";
import { RouteMatcher } from "../../src/observability/route-match.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("request ids", () => {
  test("a printable id of up to 128 characters is kept", () => {
    for (const id of ["a", "abc-123", "trace=1;span=2", "with inner space", "x".repeat(MAX_REQUEST_ID_CHARS)]) {
      expect(isValidRequestId(id)).toBe(true);
      expect(requestIdFor(id)).toBe(id);
    }
  });

  test("anything else is replaced by a new UUID", () => {
    for (const id of ["", " lead", "trail ", "x".repeat(MAX_REQUEST_ID_CHARS + 1), "new\nline", "tab\there", "caf\u00e9", "nul\u0000", "\u{1F600}"]) {
      expect(isValidRequestId(id)).toBe(false);
      expect(requestIdFor(id)).toMatch(UUID);
    }
    expect(requestIdFor(null)).toMatch(UUID);
    expect(requestIdFor(null)).not.toBe(requestIdFor(null));
  });
});

describe("route templates", () => {
  const m = new RouteMatcher();
  m.setRoutes([
    { method: "OPTIONS", path: "/*" },
    { method: "GET", path: "/health" },
    { method: "POST", path: "/ask" },
    { method: "GET", path: "/stream/:session_id" },
    { method: "POST", path: "/sessions/:session_id/cancel" },
    { method: "GET", path: "/sessions/:session_id" },
    { method: "DELETE", path: "/sessions/:session_id" },
    { method: "WS", path: "/ws" },
  ]);

  test("raw paths map to their template, by method", () => {
    expect(m.match("POST", "/ask")).toBe("/ask");
    expect(m.match("GET", "/stream/abc.1")).toBe("/stream/:session_id");
    expect(m.match("POST", "/sessions/s1/cancel")).toBe("/sessions/:session_id/cancel");
    expect(m.match("DELETE", "/sessions/s1")).toBe("/sessions/:session_id");
    expect(m.match("GET", "/ws")).toBe("/ws");
    expect(m.match("OPTIONS", "/anything/at/all")).toBe("/*");
  });

  test("unknown paths and methods match nothing (the caller labels them once, not per path)", () => {
    expect(m.match("GET", "/nope")).toBeNull();
    expect(m.match("GET", "/stream/a/b")).toBeNull();
    expect(m.match("GET", "/ask")).toBeNull();
    expect(m.match("GET", "/health/x")).toBeNull();
  });
});
