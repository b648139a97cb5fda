/** Bond for Bun: the library's public API. */
export { createBondServer, type BondServer, type BondServerOptions } from "./server/app.ts";
export { shutdownBondServer } from "./server/shutdown.ts";
export { BondAgent, type BondAgentOptions, type RunInput, type RunOutcome } from "./agent/agent.ts";
export { defineTool, type Tool, type ToolContext, type AnyTool } from "./agent/tools.ts";
export { builtinTools, calculatorTool, currentTimeTool } from "./agent/builtin-tools.ts";
export type { AgentEvent, AgentEventType, BlockKind, UsageTotals } from "./agent/events.ts";
export type { Message, ToolCall } from "./agent/messages.ts";
export { ModelError, type Model, type ModelChunk, type ModelRequest, type ToolSpec } from "./agent/models/model.ts";
export { DemoModel } from "./agent/models/demo.ts";
export { OpenAIModel } from "./agent/models/openai.ts";
export { resolveModel } from "./agent/models/resolve.ts";
export { DEFAULT_CONFIG, resolveConfig, type ServerConfig } from "./config.ts";
export { LOG_LEVELS, type LogLevel, type LogSink } from "./server/logging.ts";
export { loadConfig, ConfigError } from "./config-load.ts";
export { RunStop } from "./agent/abort.ts";
export type { SessionStore } from "./sessions/store.ts";
