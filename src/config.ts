/** ServerConfig: every setting, its default (API.md §4–5). Parsing lives in config-load.ts. */

import type { LogLevel } from "./server/logging.ts";

export interface ServerConfig {
  host: string;
  port: number;
  /** `demo`, `openai:<model>`, `ollama:<model>`. */
  model: string;
  openai_api_key: string | null;
  openai_base_url: string | null;
  agent_name: string;
  instructions: string;
  cors_origins: string[];
  session_timeout_seconds: number;
  max_concurrent_sessions: number;
  disconnect_grace_seconds: number;
  shutdown_grace_seconds: number;
  heartbeat_seconds: number;
  api_keys: string[];
  rate_limit_per_minute: number | null;
  /** Runs one caller (key, or IP without auth) may have running at once; 0 = no limit. */
  max_concurrent_runs_per_caller: number;
  /** Take the client address from X-Forwarded-For (its right-most entry): only behind exactly one trusted proxy. */
  trust_proxy: boolean;
  /** Lifetime of the signed session-scoped `?token=` in the stream_url /ask returns (auth on). */
  stream_token_ttl_seconds: number;
  demo_delay_ms: number;
  demo_bench_tokens: number | null;
  max_body_bytes: number;
  max_prompt_chars: number;
  max_ws_frame_bytes: number;
  /** A run's event log holds at most this many events; past it the run ends with an `error`. */
  max_run_events: number;
  /** …and at most about this many bytes of event payload. */
  max_run_bytes: number;
  /** A stream client that takes nothing this long while data waits is disconnected (WS: 1013); it may resume. */
  slow_client_grace_seconds: number;
  run_timeout_seconds: number;
  max_tool_rounds: number;
  tool_timeout_seconds: number;
  /** openai: how long to wait for the first streamed chunk of a model round. */
  model_first_token_timeout_seconds: number;
  /** openai: retries on 429 / 5xx before the first token. */
  model_max_retries: number;
  /** Structured stdout logs: "debug" | "info" | "warn" | "error" | "silent". */
  log_level: LogLevel;
  /** Serve the web playground at `/`; off for API-only deployments. */
  playground: boolean;
}

export const DEFAULT_INSTRUCTIONS =
  "You are a helpful assistant. Answer clearly and concisely, and use the tools you have when they help.";

export const DEFAULT_CONFIG: Readonly<ServerConfig> = Object.freeze({
  host: "0.0.0.0",
  port: 8000,
  model: "demo",
  openai_api_key: null,
  openai_base_url: null,
  agent_name: "assistant",
  instructions: DEFAULT_INSTRUCTIONS,
  cors_origins: ["*"],
  session_timeout_seconds: 3600,
  max_concurrent_sessions: 100,
  disconnect_grace_seconds: 30,
  shutdown_grace_seconds: 30,
  heartbeat_seconds: 15,
  api_keys: [],
  rate_limit_per_minute: null,
  max_concurrent_runs_per_caller: 0,
  trust_proxy: false,
  stream_token_ttl_seconds: 3600,
  demo_delay_ms: 20,
  demo_bench_tokens: null,
  max_body_bytes: 1024 * 1024,
  max_prompt_chars: 100_000,
  max_ws_frame_bytes: 1024 * 1024,
  max_run_events: 200_000,
  max_run_bytes: 64 * 1024 * 1024,
  slow_client_grace_seconds: 10,
  run_timeout_seconds: 600,
  max_tool_rounds: 10,
  tool_timeout_seconds: 30,
  model_first_token_timeout_seconds: 60,
  model_max_retries: 3,
  log_level: "info",
  playground: true,
});

export function resolveConfig(partial: Partial<ServerConfig> = {}): ServerConfig {
  return { ...DEFAULT_CONFIG, ...partial, cors_origins: [...(partial.cors_origins ?? DEFAULT_CONFIG.cors_origins)], api_keys: [...(partial.api_keys ?? DEFAULT_CONFIG.api_keys)] };
}
