/**
 * "Works unchanged in Node 20+": bundle the client as plain ESM and drive a real Bond server from a
 * `node` child process over SSE. Skipped when no `node` (>= 20) is on the PATH.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../helpers/server.ts";

const node = Bun.which("node");
const major = node ? Number(Bun.spawnSync([node, "-p", "process.versions.node.split('.')[0]"]).stdout.toString().trim()) : 0;
const dir = mkdtempSync(join(tmpdir(), "bond-client-node-"));
const server = startServer({ demo_delay_ms: 1 });

afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const SCRIPT = `
import { BondClient, accumulate, BondError } from "./client.mjs";
const bond = new BondClient({ baseUrl: process.argv[2] });
const state = await accumulate(bond.ask("What is 12*7?"));
let wsError = null;
if (typeof globalThis.WebSocket === "undefined") {
  try { for await (const _ of bond.ask("hi", { transport: "ws" })) {} } catch (e) { wsError = e instanceof BondError ? e.message : String(e); }
}
console.log(JSON.stringify({ status: state.status, output: state.output, tools: state.toolCalls.map((c) => c.name), wsError }));
`;

test.skipIf(!node || major < 20)("the bundled client runs in Node over SSE", async () => {
  const built = await Bun.build({ entrypoints: [join(import.meta.dir, "../../src/client/index.ts")], target: "node", format: "esm" });
  expect(built.success).toBe(true);
  const output = built.outputs[0];
  if (!output) throw new Error("no bundle output");
  const bundle = await output.text();
  // The bundle must carry nothing of the server.
  expect(bundle).not.toMatch(/elysia|typebox|src\/server|src\/sessions/i);
  writeFileSync(join(dir, "client.mjs"), bundle);
  writeFileSync(join(dir, "run.mjs"), SCRIPT);
  const proc = Bun.spawn([node ?? "node", join(dir, "run.mjs"), server.url], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill(), 10_000);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  expect(err).toBe("");
  expect(code).toBe(0);
  const result = JSON.parse(out) as { status: string; output: string; tools: string[]; wsError: string | null };
  expect(result.status).toBe("completed");
  expect(result.output).toContain("84");
  expect(result.tools).toEqual(["calculator"]);
  if (major < 22) expect(result.wsError).toContain("no WebSocket");
}, 20_000);
