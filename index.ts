#!/usr/bin/env bun
/** Entry point: config → agent → server → signals. Also the compiled `bond` binary. */
import { BondAgent } from "./src/agent/agent.ts";
import { builtinTools } from "./src/agent/builtin-tools.ts";
import { resolveModel } from "./src/agent/models/resolve.ts";
import { ConfigError, loadConfig } from "./src/config-load.ts";
import type { ServerConfig } from "./src/config.ts";
import { createBondServer } from "./src/server/app.ts";
import { shutdownBondServer } from "./src/server/shutdown.ts";

async function start(): Promise<void> {
  let config: ServerConfig;
  let agent: BondAgent;
  try {
    const loaded = loadConfig(Bun.argv.slice(2), process.env);
    if (loaded.kind !== "config") {
      process.stdout.write(loaded.text.endsWith("\n") ? loaded.text : `${loaded.text}\n`);
      process.exit(0);
    }
    config = loaded.config;
    // Loads the OpenAI SDK only for an openai:/ollama: model (start-up time).
    const model = await resolveModel(config);
    agent = new BondAgent({
      name: config.agent_name,
      instructions: config.instructions,
      model,
      tools: builtinTools,
      maxToolRounds: config.max_tool_rounds,
      toolTimeoutMs: config.tool_timeout_seconds * 1000,
    });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RangeError) {
      process.stderr.write(`bond: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  const app = createBondServer(agent, config);
  try {
    app.listen({ hostname: config.host, port: config.port });
  } catch (err) {
    process.stderr.write(`bond: cannot listen on ${config.host}:${config.port}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const url = app.server?.url;
  // console.log, not process.stdout.write: the first use of process.stdout builds a Node stream
  // (~5 ms) before the first request could be answered. "%s" keeps the text free of format codes.
  console.log("%s", `Bond listening on ${url} (model ${agent.model.name}, agent ${agent.name})`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`bond: ${signal} received, shutting down (grace ${config.shutdown_grace_seconds} s)\n`);
    void shutdownBondServer(app).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error("bond: shutdown failed:", err);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

// No top-level await: `bun build --compile --bytecode` emits CommonJS unless told otherwise (`npm run build`
// asks for ESM, whose code splitting leaves the OpenAI SDK and other on-demand modules out of start-up).
start().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
