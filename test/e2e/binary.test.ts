/**
 * The compiled `bond` binary (issue 2, point 4): built with the flags of
 * `bun run build`, copied alone into an empty directory (no node_modules
 * anywhere above it), it serves the same API and answers --help.
 * A failed build fails every test here: it is never a skip.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DEFAULT_CONFIG, type ServerConfig } from "../../src/config.ts";
import { checkRunInvariants, fromSse } from "../helpers/invariants.ts";
import { REPO_ROOT, buildBinaryAlone, killSpawned, runBond, spawnBond } from "../helpers/process.ts";
import { askOk, getJson } from "../helpers/server.ts";
import { readSse } from "../helpers/sse.ts";

const BUILD_MS = 120_000;
const dirs: string[] = [];

afterAll(async () => {
  await killSpawned();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Same flags as package.json's "build" script, into a temp dir so the work tree is untouched. */
async function build(): Promise<string> {
  return (await buildBinaryAlone(dirs, BUILD_MS - 10_000)).binary;
}

let built: Promise<string> | null = null;
/** Builds once; every test awaits it, so a broken build fails each of them with the compiler's output. */
function binary(): Promise<string> {
  built ??= build();
  return built;
}

function noNodeModulesAbove(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, "node_modules"))) return false;
    if (dirname(d) === d) return true;
  }
}

describe("compiled binary", () => {
  test("builds and sits alone in a directory without node_modules", async () => {
    const bin = await binary();
    const dir = dirname(bin);
    expect(await readdir(dir)).toEqual(["bond"]);
    expect(noNodeModulesAbove(dir)).toBe(true);
  }, BUILD_MS);

  test("./bond --help lists every option", async () => {
    const bin = await binary();
    const res = await runBond(["--help"], { cmd: [bin], cwd: dirname(bin) });
    expect(res.code).toBe(0);
    for (const key of Object.keys(DEFAULT_CONFIG) as (keyof ServerConfig)[]) {
      expect(res.stdout).toContain(`--${key.replaceAll("_", "-")} `);
    }
    for (const name of ["--demo-bench-tokens", "BOND_API_KEYS", "BOND_PORT", "OPENAI_API_KEY"]) expect(res.stdout).toContain(name);
  }, BUILD_MS);

  test("./bond --port abc exits 2 with one line naming --port", async () => {
    const bin = await binary();
    const res = await runBond(["--port", "abc"], { cmd: [bin], cwd: dirname(bin) });
    expect(res.code).toBe(2);
    const lines = res.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("--port");
  }, BUILD_MS);

  test("./bond serves /health and a full ask → SSE run, then exits 0 on SIGTERM", async () => {
    const bin = await binary();
    const proc = await spawnBond({ cmd: [bin], cwd: dirname(bin) });

    const health = await getJson(`${proc.url}/health`);
    expect(health.status).toBe(200);
    expect(health.json.status).toBe("healthy");
    expect(health.json.agent_name).toBe("assistant");

    const id = await askOk(proc.url, "What is 12*7?");
    const sse = await readSse(`${proc.url}/stream/${id}`);
    expect(sse.status).toBe(200);
    expect(sse.headers.get("content-type")).toContain("text/event-stream");
    const events = fromSse(sse.events);
    const terminal = checkRunInvariants(events);
    expect(terminal.type).toBe("complete");
    expect(terminal.data.data).toContain("84");
    const exec = events.find((e) => e.type === "tool_exec");
    expect(exec?.data.name).toBe("calculator");
    const result = events.find((e) => e.type === "tool_result");
    expect(result?.data).toMatchObject({ name: "calculator", result: "84", is_error: false });
    expect(events.some((e) => e.type === "thinking")).toBe(true);

    proc.signal("SIGTERM");
    expect(await proc.waitForExit(10_000)).toBe(0);
  }, BUILD_MS);
});
