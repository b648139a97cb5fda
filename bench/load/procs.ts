/**
 * Spawning the processes of a benchmark step: servers pinned to one core, the
 * load worker to another, each through `bash -c 'ulimit -n …; exec …'` so the
 * PID we hold is the process itself and the fd limit is raised. Only PIDs
 * spawned here are ever signalled.
 */
import type { Subprocess } from "bun";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { ScenarioResult, ScenarioSpec } from "./types.ts";

const RAISE_FDS = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const BUN = process.execPath;

/** Core lists for the server and the load generator; empty = no pinning. */
export function cores(): { server: string; client: string } {
  const n = navigator.hardwareConcurrency;
  if (n >= 2 && Bun.which("taskset")) return { server: "0", client: "1" };
  return { server: "", client: "" };
}

function wrap(argv: string[], cpuList: string): string[] {
  return ["bash", "-c", RAISE_FDS, "bash", ...(cpuList ? ["taskset", "-c", cpuList] : []), ...argv];
}

/** Keeps the last lines a process wrote, for error messages. */
class Tail {
  lines: string[] = [];
  push(text: string): void {
    for (const l of text.split("\n")) if (l.trim()) this.lines.push(l);
    if (this.lines.length > 20) this.lines.splice(0, this.lines.length - 20);
  }
  toString(): string {
    return this.lines.join("\n");
  }
}

async function drain(stream: ReadableStream<Uint8Array>, tail: Tail): Promise<void> {
  const dec = new TextDecoder();
  // Always read to the end: an unread pipe would block a process that writes to it.
  const reader = stream.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) return;
    tail.push(dec.decode(r.value, { stream: true }));
  }
}

export interface ServerHandle {
  pid: number;
  base: string;
  stop(): Promise<void>;
}

/** Every process spawned here and not yet reaped, so an interrupted run can stop exactly these. */
const live = new Set<Subprocess>();

function track<T extends Subprocess>(proc: T): T {
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  return proc;
}

/** Kills the processes this module spawned that are still running (by their own PIDs). */
export function killSpawned(): void {
  for (const p of live) p.kill("SIGKILL");
}

let logSeq = 0;

/** The last lines of a server's log file, for error messages. */
async function logTail(path: string): Promise<Tail> {
  const tail = new Tail();
  tail.push(await Bun.file(path).text().catch(() => ""));
  return tail;
}

/**
 * Starts a server and waits for its `/health`. Its stdout (Bond logs a line per request) goes to
 * a file, not a pipe: draining a pipe here woke this process, which shares the load generator's
 * core, at every log flush, delaying the client in proportion to how much the server logs.
 */
export async function startServer(
  name: string,
  argv: string[],
  env: Record<string, string | undefined>,
  cpuList: string,
  cwd: string = REPO,
): Promise<ServerHandle> {
  const logPath = `${tmpdir()}/bond-bench-${process.pid}-${++logSeq}-${name.replace(/[^\w.-]/g, "_")}.log`;
  const proc = track(Bun.spawn(wrap(argv, cpuList), { cwd, env, stdin: "ignore", stdout: Bun.file(logPath), stderr: "pipe" }));
  const err = new Tail();
  void drain(proc.stderr, err);
  const removeLog = () => rmSync(logPath, { force: true });
  const fail = async (why: string): Promise<never> => {
    proc.kill("SIGKILL");
    await proc.exited;
    const out = await logTail(logPath);
    removeLog();
    throw new Error(`${name} did not start: ${why}\n--- stdout\n${out}\n--- stderr\n${err}`);
  };
  const deadline = performance.now() + 20_000;
  let url: string | null = null;
  while (url === null && proc.exitCode === null && performance.now() < deadline) {
    await Bun.sleep(10);
    const m = /listening on (https?:\/\/\S+)/i.exec(await Bun.file(logPath).text().catch(() => ""));
    if (m?.[1]) url = m[1].replace(/\/$/, "").replace("://0.0.0.0:", "://127.0.0.1:").replace("://localhost:", "://127.0.0.1:");
  }
  if (!url) return fail(proc.exitCode !== null ? `exited with ${proc.exitCode}` : "no 'listening on' line");
  for (let i = 0; i < 2000 && performance.now() < deadline; i++) {
    const ok = await fetch(`${url}/health`)
      .then(async (r) => (await r.arrayBuffer(), r.status === 200))
      .catch(() => false);
    if (ok) return { pid: proc.pid, base: url, stop: () => stopProc(proc).finally(removeLog) };
    await Bun.sleep(10);
  }
  return fail("/health never answered 200");
}

async function stopProc(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
  if (!exited) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

/** Runs one scenario in a fresh worker process; throws with its stderr on failure. */
export async function runWorker(spec: ScenarioSpec, cpuList: string, timeoutMs: number): Promise<ScenarioResult> {
  const argv = [BUN, `${REPO}/bench/load/worker.ts`, JSON.stringify(spec)];
  // Bun's fetch caps concurrent requests (256 by default): lift it for 5 000 streams.
  const env = { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "65535" };
  const proc = track(Bun.spawn(wrap(argv, cpuList), { cwd: REPO, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  const err = new Tail();
  const errDone = drain(proc.stderr, err);
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const stdout = await new Response(proc.stdout).text();
  await proc.exited;
  await errDone;
  clearTimeout(timer);
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`worker for ${spec.kind} failed (exit ${proc.exitCode ?? proc.signalCode}):\n${err}`);
  return JSON.parse(line.slice(7)) as ScenarioResult;
}
