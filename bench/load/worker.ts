/**
 * Load-generator process: runs one scenario against one server and prints
 * `RESULT <json>` on stdout. Spawned by bench/run.ts (pinned to its own core,
 * with a raised fd limit and fetch's connection cap lifted).
 *   bun bench/load/worker.ts '<ScenarioSpec JSON>'
 */
import { coldstart } from "./coldstart.ts";
import { fanout } from "./fanout.ts";
import { idle } from "./idle.ts";
import { throughput } from "./throughput.ts";
import { ttfe } from "./ttfe.ts";
import type { ScenarioResult, ScenarioSpec } from "./types.ts";

const spec = JSON.parse(process.argv[2] ?? "{}") as ScenarioSpec;
const run: Record<ScenarioSpec["kind"], (s: ScenarioSpec) => Promise<ScenarioResult>> = {
  sse: throughput,
  ws: throughput,
  ttfe,
  fanout,
  idle,
  coldstart,
};
const result = await run[spec.kind](spec);
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
