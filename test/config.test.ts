import { describe, expect, test } from "bun:test";
import pkg from "../package.json" with { type: "json" };
import { DEFAULT_CONFIG, type ServerConfig } from "../src/config.ts";
import { ConfigError, helpText, loadConfig } from "../src/config-load.ts";

type Env = Record<string, string | undefined>;

function config(argv: string[] = [], env: Env = {}): ServerConfig {
  const r = loadConfig(argv, env);
  if (r.kind !== "config") throw new Error(`expected config, got ${r.kind}`);
  return r.config;
}

function configError(argv: string[], env: Env = {}): ConfigError {
  try {
    loadConfig(argv, env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`no ConfigError for ${JSON.stringify({ argv, env })}`);
}

const KEYS = Object.keys(DEFAULT_CONFIG) as (keyof ServerConfig)[];
const envName = (k: keyof ServerConfig) =>
  k === "openai_api_key" || k === "openai_base_url" ? k.toUpperCase() : `BOND_${k.toUpperCase()}`;
const flagName = (k: keyof ServerConfig) => `--${k.replaceAll("_", "-")}`;

// One valid, non-default value per field; the Record type breaks the build when a field is added.
const SAMPLES: Record<keyof ServerConfig, [raw: string, parsed: ServerConfig[keyof ServerConfig]]> = {
  host: ["127.0.0.1", "127.0.0.1"],
  port: ["0", 0],
  model: ["ollama:llama3.1:8b", "ollama:llama3.1:8b"],
  openai_api_key: ["sk-test", "sk-test"],
  openai_base_url: ["http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1"],
  agent_name: ["helper", "helper"],
  instructions: ["Be brief.\nAlways.", "Be brief.\nAlways."],
  cors_origins: [" https://a.example , ,http://localhost:3000,", ["https://a.example", "http://localhost:3000"]],
  session_timeout_seconds: ["0.5", 0.5],
  max_concurrent_sessions: ["7", 7],
  disconnect_grace_seconds: ["0", 0],
  shutdown_grace_seconds: ["0", 0],
  heartbeat_seconds: ["0.25", 0.25],
  api_keys: ["k1, k2,,", ["k1", "k2"]],
  rate_limit_per_minute: ["60", 60],
  max_concurrent_runs_per_caller: ["10", 10],
  trust_proxy: ["TRUE", true],
  stream_token_ttl_seconds: ["30", 30],
  demo_delay_ms: ["0", 0],
  demo_bench_tokens: ["500", 500],
  max_body_bytes: ["2048", 2048],
  max_prompt_chars: ["10", 10],
  max_ws_frame_bytes: ["4096", 4096],
  max_run_events: ["100", 100],
  max_run_bytes: ["8192", 8192],
  slow_client_grace_seconds: ["0.5", 0.5],
  run_timeout_seconds: ["1.5", 1.5],
  max_tool_rounds: ["3", 3],
  tool_timeout_seconds: ["2", 2],
  model_first_token_timeout_seconds: ["5", 5],
  model_max_retries: ["0", 0],
  log_level: ["WARN", "warn"],
  playground: ["0", false],
};

describe("loadConfig", () => {
  test("defaults", () => {
    expect(config()).toEqual({ ...DEFAULT_CONFIG });
    // A fresh copy: callers may not mutate the frozen defaults through it.
    expect(config().cors_origins).not.toBe(DEFAULT_CONFIG.cors_origins);
  });

  test("every field from its env variable", () => {
    const env = Object.fromEntries(KEYS.map((k) => [envName(k), SAMPLES[k][0]]));
    const c = config([], env);
    for (const k of KEYS) expect([k, c[k]]).toEqual([k, SAMPLES[k][1]]);
  });

  test("every field from its flag, as --x v and --x=v", () => {
    const spaced = KEYS.flatMap((k) => [flagName(k), SAMPLES[k][0]]);
    const joined = KEYS.map((k) => `${flagName(k)}=${SAMPLES[k][0]}`);
    for (const argv of [spaced, joined]) {
      const c = config(argv);
      for (const k of KEYS) expect([k, c[k]]).toEqual([k, SAMPLES[k][1]]);
    }
  });

  test("flag beats env, env beats default, empty env is unset", () => {
    expect(config(["--port", "9001"], { BOND_PORT: "9002" }).port).toBe(9001);
    expect(config(["--port=9001"], { BOND_PORT: "9002" }).port).toBe(9001);
    expect(config([], { BOND_PORT: "9002" }).port).toBe(9002);
    // An overridden env value is not even validated.
    expect(config(["--port", "9001"], { BOND_PORT: "abc" }).port).toBe(9001);
    const c = config([], { BOND_PORT: "", OPENAI_API_KEY: "", BOND_RATE_LIMIT_PER_MINUTE: "", BOND_CORS_ORIGINS: "" });
    expect(c.port).toBe(8000);
    expect(c.openai_api_key).toBeNull();
    expect(c.rate_limit_per_minute).toBeNull();
    expect(c.cors_origins).toEqual(["*"]);
  });

  test("a value may contain = and look like a negative number", () => {
    expect(config(["--instructions=a=b"]).instructions).toBe("a=b");
    expect(configError(["--demo-delay-ms", "-1"]).message).toBe('--demo-delay-ms: must be an integer between 0 and 2147483647, got "-1"');
  });

  test("playground takes true/false/1/0 in any case", () => {
    for (const [raw, want] of [["true", true], ["FALSE", false], ["1", true], [" 0 ", false]] as const) {
      expect(config([], { BOND_PLAYGROUND: raw }).playground).toBe(want);
      expect(config(["--playground", raw]).playground).toBe(want);
    }
  });

  test("last flag wins", () => {
    expect(config(["--port", "1", "--port", "2"]).port).toBe(2);
  });
});

describe("bad values", () => {
  // [where, raw value, text the message must contain]
  const cases: [keyof ServerConfig, string, string][] = [
    ["port", "abc", "integer between 0 and 65535"],
    ["port", "65536", "integer between 0 and 65535"],
    ["port", "80.5", "integer"],
    ["port", "1e3", "integer"],
    ["host", "local host", "spaces"],
    ["host", "  ", "empty"],
    ["model", "gpt-4", '"demo", "openai:<model>" or "ollama:<model>"'],
    ["model", "openai:", "openai:<model>"],
    ["model", "ollama: x", "ollama:<model>"],
    ["openai_base_url", "ftp://x.example", "http(s) URL"],
    ["openai_base_url", "not a url", "http(s) URL"],
    ["cors_origins", "https://a.example/path", "no path"],
    ["cors_origins", "a.example", "origin"],
    ["cors_origins", " , ", "at least one origin"],
    ["session_timeout_seconds", "-5", "positive number"],
    ["session_timeout_seconds", "0", "positive number"],
    ["session_timeout_seconds", "abc", "positive number"],
    ["session_timeout_seconds", "99999999999", "at most"],
    ["heartbeat_seconds", "0", "positive number"],
    ["disconnect_grace_seconds", "-1", "number >= 0"],
    ["shutdown_grace_seconds", "x", "number >= 0"],
    ["run_timeout_seconds", "Infinity", "positive number"],
    ["max_concurrent_sessions", "0", "positive integer"],
    ["max_tool_rounds", "2.5", "positive integer"],
    ["max_prompt_chars", "-1", "positive integer"],
    ["max_body_bytes", "1MB", "positive integer"],
    ["max_ws_frame_bytes", "99999999999999999999", "positive integer"],
    ["model_max_retries", "-1", "integer >= 0"],
    ["rate_limit_per_minute", "0", "positive integer"],
    ["demo_bench_tokens", "ten", "positive integer"],
    ["trust_proxy", "maybe", "true, false, 1 or 0"],
    ["max_concurrent_runs_per_caller", "-1", "integer >= 0"],
    ["max_run_events", "15", "integer >= 16"],
    ["max_run_bytes", "100", "integer >= 4096"],
    ["slow_client_grace_seconds", "0", "positive number"],
    ["stream_token_ttl_seconds", "-1", "positive number"],
    ["demo_delay_ms", "0.5", "integer between 0"],
    ["agent_name", "x".repeat(101), "at most 100 characters"],
    ["instructions", " \n ", "empty"],
    ["playground", "no", "true, false, 1 or 0"],
    ["log_level", "verbose", "debug, info, warn, error, silent"],
  ];

  for (const [key, raw, want] of cases) {
    test(`${key} = ${JSON.stringify(raw.slice(0, 20))}`, () => {
      for (const [name, e] of [
        [envName(key), configError([], { [envName(key)]: raw })],
        [flagName(key), configError([flagName(key), raw])],
      ] as const) {
        expect(e.message.startsWith(`${name}: `)).toBe(true);
        expect(e.message).toContain(want);
        expect(e.message).not.toContain("\n");
      }
    });
  }

  test("the bad value is quoted and shortened", () => {
    expect(configError([], { BOND_PORT: "abc" }).message).toBe('BOND_PORT: must be an integer between 0 and 65535, got "abc"');
    const long = configError(["--agent-name", "y".repeat(500)]).message;
    expect(long.length).toBeLessThan(250);
  });

  test("a cors error names the bad origin and suggests the fix", () => {
    const m = configError(["--cors-origins", "*,https://ok.example,https://a.example/"]).message;
    expect(m).toContain('got "https://a.example/"');
    expect(m).toContain('did you mean "https://a.example"?');
  });

  test("secrets are never echoed", () => {
    const secret = "sk-live SECRET-123";
    for (const e of [
      configError([], { OPENAI_API_KEY: secret }),
      configError(["--openai-api-key", secret]),
      configError([], { BOND_API_KEYS: `good,${secret}` }),
      configError([`--api-keys=${secret}`]),
      configError([], { BOND_API_KEYS: " , " }),
    ]) {
      expect(e.message).toMatch(/^(OPENAI_API_KEY|--openai-api-key|BOND_API_KEYS|--api-keys): /);
      expect(e.message).toContain("(hidden)");
      expect(e.message).not.toContain("SECRET");
      expect(e.message).not.toContain("good");
    }
  });
});

describe("command line", () => {
  test("unknown flag, stray argument, missing value", () => {
    expect(configError(["--prot", "80"]).message).toBe('unknown option "--prot" (see --help)');
    expect(configError(["--prot=80"]).message).toBe('unknown option "--prot" (see --help)');
    expect(configError(["-p", "80"]).message).toContain('unknown option "-p"');
    expect(configError(["serve"]).message).toBe('unexpected argument "serve" (see --help)');
    expect(configError(["--port"]).message).toBe("--port: missing value");
    expect(configError(["--port", "--host", "x"]).message).toBe("--port: missing value");
    expect(configError(["--help=yes"]).message).toBe("--help: takes no value");
  });

  test("-h / --help win over everything, even errors", () => {
    for (const argv of [["-h"], ["--help"], ["--port", "abc", "--help"], ["--bogus", "-h"], ["--version", "--help"]]) {
      const r = loadConfig(argv, { BOND_PORT: "abc" });
      expect(r.kind).toBe("help");
      if (r.kind === "help") expect(r.text).toBe(helpText());
    }
  });

  test("--version reads package.json", () => {
    expect(loadConfig(["--version"], {})).toEqual({ kind: "version", text: `bond ${pkg.version}` });
  });
});

describe("helpText", () => {
  const text = helpText();

  test("usage line", () => {
    expect(text).toContain("Usage: bond [options]");
    expect(text).toContain("--help");
    expect(text).toContain("--version");
  });

  test("lists every ServerConfig field with its flag, variable and default", () => {
    for (const k of KEYS) {
      const line = text.split("\n").find((l) => l.trimStart().startsWith(`${flagName(k)} `));
      expect([k, line]).toEqual([k, expect.stringContaining(envName(k))]);
      expect(line).toContain("default: ");
      const v = DEFAULT_CONFIG[k];
      if (typeof v === "number") expect([k, line]).toEqual([k, expect.stringContaining(`default: ${v}`)]);
    }
  });

  test("each option has a one-line meaning under it", () => {
    const lines = text.split("\n");
    for (const k of KEYS) {
      const i = lines.findIndex((l) => l.trimStart().startsWith(`${flagName(k)} `));
      expect(lines[i + 1]?.trim().length ?? 0).toBeGreaterThan(5);
    }
  });
});
