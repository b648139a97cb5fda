/**
 * Bond client SDK: `import { BondClient } from "bond-bun/client"`.
 * Runs unchanged in browsers, Bun and Node 20+ (fetch, ReadableStream, TextDecoder, WebSocket);
 * it imports nothing from the server at runtime — only the AgentEvent types.
 */
export { BondClient } from "./client.ts";
export { BondRun } from "./run.ts";
export { BondError, type BondErrorCode } from "./errors.ts";
export { RunAccumulator, accumulate, type AccumulatedToolCall, type RunState, type RunStatus, type Usage } from "./accumulator.ts";
export { SseParser, type SseMessage } from "./sse-parser.ts";
export { decodeSseMessage, decodeWsFrame, isTerminal, toAgentEvent, type DecodedEvent, type WsFrame } from "./decode.ts";
export { parseEventId, type EventId } from "./event-cursor.ts";
export type {
  AgentEvent,
  AgentEventType,
  AskOptions,
  AskResponse,
  BlockKind,
  BondClientOptions,
  BondEvent,
  FetchLike,
  HealthInfo,
  HistoryEntry,
  ReconnectOptions,
  ResumeOptions,
  SessionInfo,
  SessionStatus,
  StreamOptions,
  TerminalEvent,
  Transport,
  UsageEvent,
  UsageTotals,
  WebSocketAuth,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.ts";
