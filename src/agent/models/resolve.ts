/** Turns `config.model` ("demo", "openai:<m>", "ollama:<m>") into a Model. */
import type { ServerConfig } from "../../config.ts";
import { ConfigError } from "../../config-load.ts";
import { DemoModel } from "./demo.ts";
import type { Model } from "./model.ts";

export const OPENAI_BASE_URL = "https://api.openai.com/v1";
export const OLLAMA_BASE_URL = "http://localhost:11434/v1";
/** Ollama ignores the key, but the SDK needs a non-empty one. */
const OLLAMA_PLACEHOLDER_KEY = "ollama";
/** Sent to a keyless OpenAI-compatible server (OPENAI_BASE_URL without OPENAI_API_KEY). */
const KEYLESS_PLACEHOLDER_KEY = "none";

export type ModelSpec = { provider: "demo" } | { provider: "openai" | "ollama"; model: string };

/** Parses a model setting; throws ConfigError with a one-line message when it is not one of the three forms. */
export function parseModelSpec(spec: string): ModelSpec {
  const s = spec.trim();
  if (s === "demo") return { provider: "demo" };
  const m = /^(openai|ollama):(.+)$/.exec(s);
  const model = m?.[2]?.trim();
  if (m && model && (m[1] === "openai" || m[1] === "ollama")) return { provider: m[1], model };
  throw new ConfigError(`model must be "demo", "openai:<model>" or "ollama:<model>", got "${spec}"`);
}

/**
 * The model the server runs. `openai:` needs OPENAI_API_KEY, or OPENAI_BASE_URL
 * for a server that takes no key. `ollama:` never sends the OpenAI key: it talks
 * to OPENAI_BASE_URL when set, else to a local Ollama.
 *
 * Async because the OpenAI SDK is loaded only for `openai:`/`ollama:` models:
 * evaluating it costs ~7 ms of every start, which the demo model never needs.
 * Config errors are thrown (rejected) before anything is loaded.
 */
export async function resolveModel(config: ServerConfig): Promise<Model> {
  const spec = parseModelSpec(config.model);
  if (spec.provider === "demo") {
    return new DemoModel({ delayMs: config.demo_delay_ms, benchTokens: config.demo_bench_tokens });
  }
  if (spec.provider === "openai" && !config.openai_api_key && !config.openai_base_url) {
    throw new ConfigError(
      `model ${config.model} needs an API key: set OPENAI_API_KEY (or --openai-api-key), or OPENAI_BASE_URL (--openai-base-url) for a compatible server that takes no key`,
    );
  }
  const { OpenAIModel } = await import("./openai.ts");
  const common = {
    model: spec.model,
    name: `${spec.provider}:${spec.model}`,
    firstTokenTimeoutMs: config.model_first_token_timeout_seconds * 1000,
    maxRetries: config.model_max_retries,
  };
  if (spec.provider === "ollama") {
    return new OpenAIModel({ ...common, apiKey: OLLAMA_PLACEHOLDER_KEY, baseURL: config.openai_base_url ?? OLLAMA_BASE_URL });
  }
  return new OpenAIModel({
    ...common,
    apiKey: config.openai_api_key || KEYLESS_PLACEHOLDER_KEY,
    baseURL: config.openai_base_url ?? OPENAI_BASE_URL,
  });
}
