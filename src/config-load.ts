/**
 * Turns argv + environment into a validated ServerConfig (API.md §5).
 * One descriptor per field drives parsing, names and --help, so a new
 * ServerConfig field fails to compile until it gets a descriptor here.
 */
import pkg from "../package.json" with { type: "json" };
import { DEFAULT_CONFIG, resolveConfig, type ServerConfig } from "./config.ts";
import { LOG_LEVELS, isLogLevel, type LogLevel } from "./server/logging.ts";

/** A bad flag or variable; the message is one line and never shows a secret. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export type LoadResult =
  | { kind: "config"; config: ServerConfig }
  | { kind: "help"; text: string }
  | { kind: "version"; text: string };

/** Thrown by parsers with what the value should have been; loadConfig adds the name and value. */
class Invalid extends Error {
  /** `value`: the offending part when it is not the whole input (one list item). */
  constructor(want: string, readonly detail: { value?: string; hint?: string } = {}) {
    super(want);
  }
}

interface Kind<T> {
  /** Shown after the flag in --help, e.g. `<seconds>`. */
  placeholder: string;
  /** Throws Invalid("must be …") on a bad value. */
  parse: (raw: string) => T;
}

type Group = "Server" | "Agent and model" | "Sessions and runs" | "Limits" | "Demo model";
const GROUPS: readonly Group[] = ["Server", "Agent and model", "Sessions and runs", "Limits", "Demo model"];

interface FieldSpec<T> extends Kind<T> {
  group: Group;
  help: string;
  /** Env name when it is not BOND_<UPPER_SNAKE>. */
  env?: string;
  /** Never echo the value in errors. */
  secret?: boolean;
  /** --help text for the default when printing the value itself would mislead. */
  defaultText?: string;
}

// setTimeout overflows past 2^31-1 ms and fires at once, so cap every delay there.
const MAX_TIMER_MS = 2_147_483_647;
const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

function integer(min: number, max: number = Number.MAX_SAFE_INTEGER, placeholder = "<n>"): Kind<number> {
  const want =
    max === Number.MAX_SAFE_INTEGER
      ? min === 1 ? "a positive integer" : `an integer >= ${min}`
      : `an integer between ${min} and ${max}`;
  return {
    placeholder,
    parse(raw) {
      const s = raw.trim();
      const n = Number(s);
      // The regex rejects "", "1e3", "0x10", "1.0" that Number() would accept.
      if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) throw new Invalid(`must be ${want}`);
      return n;
    },
  };
}

function seconds(allowZero: boolean): Kind<number> {
  const want = `${allowZero ? "a number >= 0" : "a positive number"} of seconds (at most ${MAX_TIMER_SECONDS})`;
  return {
    placeholder: "<seconds>",
    parse(raw) {
      const s = raw.trim();
      const n = Number(s);
      if (!/^(\d+(\.\d*)?|\.\d+)$/.test(s) || !Number.isFinite(n) || n > MAX_TIMER_SECONDS || (n === 0 && !allowZero)) {
        throw new Invalid(`must be ${want}`);
      }
      return n;
    },
  };
}

function text(placeholder: string, maxChars: number, oneWord: boolean): Kind<string> {
  return {
    placeholder,
    parse(raw) {
      const s = raw.trim();
      const chars = [...s].length;
      if (chars === 0) throw new Invalid("must not be empty");
      if (chars > maxChars) throw new Invalid(`must be at most ${maxChars} characters`);
      if (oneWord && /\s/.test(s)) throw new Invalid("must not contain spaces");
      return s;
    },
  };
}

const model: Kind<string> = {
  placeholder: "<model>",
  parse(raw) {
    const s = raw.trim();
    const m = /^(openai|ollama):(.*)$/.exec(s);
    if (s === "demo" || (m && m[2] !== undefined && m[2].length > 0 && !/\s/.test(m[2]))) return s;
    throw new Invalid('must be "demo", "openai:<model>" or "ollama:<model>"');
  },
};

function httpUrl(raw: string): URL | null {
  try {
    const u = new URL(raw);
    return u.protocol === "http:" || u.protocol === "https:" ? u : null;
  } catch {
    return null;
  }
}

const baseUrl: Kind<string> = {
  placeholder: "<url>",
  parse(raw) {
    const s = raw.trim();
    if (!httpUrl(s)) throw new Invalid("must be an http(s) URL");
    return s;
  },
};

/** Comma-separated, trimmed, empties dropped; at least one item. */
function list(placeholder: string, what: string, item: (s: string) => string): Kind<string[]> {
  return {
    placeholder,
    parse(raw) {
      const items = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
      if (items.length === 0) throw new Invalid(`must list at least one ${what}`);
      return items.map(item);
    },
  };
}

const corsOrigins = list("<origins>", "origin", (s) => {
  if (s === "*") return s;
  const u = httpUrl(s);
  // Browsers send exactly scheme://host[:port]; anything else would never match.
  if (!u || u.origin !== s) {
    throw new Invalid("each origin must be * or an http(s) origin like https://example.com (scheme://host[:port], no path)", {
      value: s,
      hint: u ? `did you mean "${u.origin}"?` : undefined,
    });
  }
  return s;
});

const apiKeys = list("<keys>", "key", (s) => {
  if (/\s/.test(s)) throw new Invalid("keys must not contain spaces");
  return s;
});

const secretText = text("<key>", Number.MAX_SAFE_INTEGER, true);

const boolean: Kind<boolean> = {
  placeholder: "<true|false>",
  parse(raw) {
    const s = raw.trim().toLowerCase();
    if (s === "true" || s === "1") return true;
    if (s === "false" || s === "0") return false;
    throw new Invalid("must be true, false, 1 or 0");
  },
};

const positive = integer(1);

const logLevel: Kind<LogLevel> = {
  placeholder: "<level>",
  parse(raw) {
    const s = raw.trim().toLowerCase();
    if (!isLogLevel(s)) throw new Invalid(`must be one of ${LOG_LEVELS.join(", ")}`);
    return s;
  },
};

const FIELDS: { readonly [K in keyof ServerConfig]: FieldSpec<ServerConfig[K]> } = {
  host: { group: "Server", ...text("<host>", 255, true), help: "interface to listen on" },
  port: { group: "Server", ...integer(0, 65535, "<port>"), help: "port to listen on (0 = any free port)" },
  cors_origins: { group: "Server", ...corsOrigins, help: "comma-separated allowed origins, * or scheme://host[:port]" },
  api_keys: {
    group: "Server", ...apiKeys, secret: true, defaultText: "unset (no auth)",
    help: "comma-separated bearer keys; when set, every request needs one",
  },
  rate_limit_per_minute: {
    group: "Server", ...positive, defaultText: "unset (off)",
    help: "runs a key (or IP) may start per minute, over HTTP and WS together",
  },
  max_concurrent_runs_per_caller: {
    group: "Server", ...integer(0), defaultText: "0 (no limit)",
    help: "runs a key (or IP) may have running at once, over HTTP and WS together (0 = no limit)",
  },
  trust_proxy: {
    group: "Server", ...boolean,
    help: "behind exactly one reverse proxy: take the client IP (for limits) from the right-most X-Forwarded-For entry",
  },
  stream_token_ttl_seconds: {
    group: "Server", ...seconds(false),
    help: "with API keys: lifetime of the session-scoped ?token= in the stream_url that /ask returns",
  },
  heartbeat_seconds: { group: "Server", ...seconds(false), help: "SSE comment / WS ping interval" },
  log_level: { group: "Server", ...logLevel, help: "JSON log lines on stdout at this level and above (silent: none)" },
  playground: { group: "Server", ...boolean, help: "serve the web playground at / (false for API-only deployments)" },

  model: { group: "Agent and model", ...model, help: 'which model answers: "demo", "openai:<model>" or "ollama:<model>"' },
  openai_api_key: {
    group: "Agent and model", ...secretText, env: "OPENAI_API_KEY", secret: true, defaultText: "unset",
    help: "API key for openai: models",
  },
  openai_base_url: {
    group: "Agent and model", ...baseUrl, env: "OPENAI_BASE_URL", defaultText: "unset (OpenAI)",
    help: "base URL of any OpenAI-compatible server",
  },
  agent_name: { group: "Agent and model", ...text("<name>", 100, false), help: "the agent's name (1-100 characters)" },
  instructions: {
    group: "Agent and model", ...text("<text>", Number.MAX_SAFE_INTEGER, false), defaultText: "a short helpful-assistant prompt",
    help: "the agent's system instructions",
  },
  model_first_token_timeout_seconds: {
    group: "Agent and model", ...seconds(false),
    help: "openai: how long to wait for the first streamed chunk of a model round",
  },
  model_max_retries: { group: "Agent and model", ...integer(0), help: "openai: retries on 429 / 5xx before the first token" },

  session_timeout_seconds: {
    group: "Sessions and runs", ...seconds(false),
    help: "idle time before a session expires (sliding; never while a run is in progress)",
  },
  max_concurrent_sessions: { group: "Sessions and runs", ...positive, help: "live sessions at once" },
  disconnect_grace_seconds: {
    group: "Sessions and runs", ...seconds(true),
    help: "how long a run whose last subscriber left waits for a resume before it is cancelled",
  },
  shutdown_grace_seconds: {
    group: "Sessions and runs", ...seconds(true),
    help: "on SIGTERM/SIGINT, how long running runs may finish before they are cancelled",
  },
  run_timeout_seconds: { group: "Sessions and runs", ...seconds(false), help: "longest a run may take" },
  max_tool_rounds: { group: "Sessions and runs", ...positive, help: "most model-tool rounds in one run" },
  tool_timeout_seconds: { group: "Sessions and runs", ...seconds(false), help: "longest one tool call may take" },

  max_body_bytes: { group: "Limits", ...integer(1, Number.MAX_SAFE_INTEGER, "<bytes>"), help: "largest HTTP request body" },
  max_prompt_chars: { group: "Limits", ...positive, help: "longest prompt, in characters" },
  max_ws_frame_bytes: { group: "Limits", ...integer(1, Number.MAX_SAFE_INTEGER, "<bytes>"), help: "largest WebSocket frame" },
  max_run_events: {
    group: "Limits", ...integer(16), help: "most events one run may log; past it the run ends with an error event",
  },
  max_run_bytes: {
    group: "Limits", ...integer(4096, Number.MAX_SAFE_INTEGER, "<bytes>"),
    help: "about the most event payload bytes one run may log; past it the run ends with an error event",
  },
  slow_client_grace_seconds: {
    group: "Limits", ...seconds(false),
    help: "a stream client that takes nothing this long while data waits is disconnected (WS: close 1013); it may resume",
  },

  demo_delay_ms: {
    group: "Demo model", ...integer(0, MAX_TIMER_MS, "<ms>"),
    help: "pause between deltas (0 = no pause at all)",
  },
  demo_bench_tokens: {
    group: "Demo model", ...positive, defaultText: "unset",
    help: "when set to N, every reply is one text block of exactly N deltas (for load tests)",
  },
};

const KEYS = Object.keys(FIELDS) as (keyof ServerConfig)[];

function envName(key: keyof ServerConfig): string {
  return FIELDS[key].env ?? `BOND_${key.toUpperCase()}`;
}

function flagName(key: keyof ServerConfig): string {
  return `--${key.replaceAll("_", "-")}`;
}

const FLAG_TO_KEY: ReadonlyMap<string, keyof ServerConfig> = new Map(KEYS.map((k) => [flagName(k), k]));

/** JSON-quoted (so one line) and shortened: long instructions would swamp the error. */
function shown(raw: string): string {
  const q = JSON.stringify(raw);
  return q.length > 80 ? `${q.slice(0, 76)}…"` : q;
}

function applyField<K extends keyof ServerConfig>(config: ServerConfig, key: K, raw: string, name: string): void {
  const spec: FieldSpec<ServerConfig[K]> = FIELDS[key];
  try {
    config[key] = spec.parse(raw);
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    const got = spec.secret ? "(hidden)" : shown(e.detail.value ?? raw);
    const hint = e.detail.hint && !spec.secret ? `; ${e.detail.hint}` : "";
    throw new ConfigError(`${name}: ${e.message}, got ${got}${hint}`);
  }
}

export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): LoadResult {
  const flags = new Map<keyof ServerConfig, string>();
  let wantHelp = false;
  let wantVersion = false;
  // Keep scanning after an error so --help anywhere still wins.
  const errors: string[] = [];
  const fail = (message: string) => void errors.push(message);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = flag === arg ? undefined : arg.slice(eq + 1);

    if (flag === "-h" || flag === "--help" || flag === "--version") {
      if (inline !== undefined) fail(`${flag}: takes no value`);
      else if (flag === "--version") wantVersion = true;
      else wantHelp = true;
      continue;
    }
    const key = FLAG_TO_KEY.get(flag);
    if (key === undefined) {
      fail(arg.startsWith("-") ? `unknown option ${shown(flag)} (see --help)` : `unexpected argument ${shown(arg)} (see --help)`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      // A following "--x" is the next flag, not a value; "-5" is a (bad) value worth reporting as such.
      if (next === undefined || next.startsWith("--")) {
        fail(`${flag}: missing value`);
        continue;
      }
      value = next;
      i++;
    }
    flags.set(key, value);
  }

  if (wantHelp) return { kind: "help", text: helpText() };
  if (wantVersion) return { kind: "version", text: `bond ${pkg.version}` };
  if (errors[0] !== undefined) throw new ConfigError(errors[0]);

  const config = resolveConfig();
  for (const key of KEYS) {
    const fromFlag = flags.get(key);
    if (fromFlag !== undefined) {
      applyField(config, key, fromFlag, flagName(key));
      continue;
    }
    const fromEnv = env[envName(key)];
    if (fromEnv !== undefined && fromEnv !== "") applyField(config, key, fromEnv, envName(key));
  }
  return { kind: "config", config };
}

function defaultText(key: keyof ServerConfig): string {
  const explicit = FIELDS[key].defaultText;
  if (explicit !== undefined) return explicit;
  const v = DEFAULT_CONFIG[key];
  if (v === null) return "unset";
  return Array.isArray(v) ? v.join(",") : String(v);
}

export function helpText(): string {
  const lines = [
    `Bond for Bun ${pkg.version}: put an LLM agent on the web, streamed over SSE and WebSocket.`,
    "",
    "Usage: bond [options]",
    "",
    "Every option is a flag (--name value or --name=value) and an environment variable.",
    "Flags win over variables, variables over defaults; an empty variable counts as unset.",
    "",
    "  -h, --help       show this help and exit",
    "  --version        show the version and exit",
  ];
  for (const group of GROUPS) {
    lines.push("", `${group}:`);
    for (const key of KEYS) {
      const f = FIELDS[key];
      if (f.group !== group) continue;
      lines.push(`  ${flagName(key)} ${f.placeholder}    (${envName(key)}; default: ${defaultText(key)})`, `      ${f.help}`);
    }
  }
  return lines.join("\n") + "\n";
}
