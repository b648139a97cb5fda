import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";

/** Every client → server frame (API.md §3), checked before it is trusted. */
const ClientFrame = Type.Object(
  {
    type: Type.Optional(Type.String({ maxLength: 32 })),
    prompt: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
    session_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    new_session: Type.Optional(Type.Boolean()),
    last_event_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  { additionalProperties: true },
);
export type ClientFrame = Static<typeof ClientFrame>;

// Compiled on the first frame, not at module load: compiling costs ~2 ms of every start.
let compiled: TypeCheck<typeof ClientFrame> | null = null;
const frameCheck = (): TypeCheck<typeof ClientFrame> => (compiled ??= TypeCompiler.Compile(ClientFrame));

export type WsErrorCode = "bad_request" | "busy" | "not_found" | "nothing_to_cancel" | "rate_limited" | "unavailable";

export function wsError(code: WsErrorCode, message: string): string {
  return JSON.stringify({ t: "error", error: message, code });
}

/** The frame as a typed object, or the reason it is refused. */
export function parseClientFrame(message: unknown): { ok: true; frame: ClientFrame } | { ok: false; error: string } {
  if (message instanceof Uint8Array || message instanceof ArrayBuffer) {
    return { ok: false, error: "Binary frames are not supported: send JSON text frames." };
  }
  if (typeof message === "string") return { ok: false, error: "Frames must be JSON objects." };
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    return { ok: false, error: "Frames must be JSON objects." };
  }
  const check = frameCheck();
  if (!check.Check(message)) {
    const first = check.Errors(message).First();
    return { ok: false, error: `Invalid frame: ${first ? `${first.path || "/"}: ${first.message}` : "wrong shape"}` };
  }
  return { ok: true, frame: message };
}
