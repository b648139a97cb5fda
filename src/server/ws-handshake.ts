import { jsonError } from "./http-error.ts";

const KEY = /^[A-Za-z0-9+/]{22}==$/; // base64 of 16 bytes (RFC 6455 §4.2.1)

/**
 * A malformed WebSocket handshake, answered in the API's JSON error shape. Bun would otherwise
 * answer these itself: a bare 426 with an empty body, or Elysia's plain-text 400.
 */
export function handshakeError(request: Request): Response | null {
  const connection = request.headers.get("connection") ?? "";
  const hasUpgradeToken = connection.split(",").some((t) => t.trim().toLowerCase() === "upgrade");
  if (!hasUpgradeToken || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return jsonError(426, "This endpoint speaks WebSocket only.", { upgrade: "websocket", connection: "Upgrade" });
  }
  if (request.headers.get("sec-websocket-version")?.trim() !== "13") {
    return jsonError(426, "Unsupported WebSocket version: use 13.", { "sec-websocket-version": "13" });
  }
  if (!KEY.test(request.headers.get("sec-websocket-key")?.trim() ?? "")) {
    return jsonError(400, "Invalid Sec-WebSocket-Key.");
  }
  return null;
}
