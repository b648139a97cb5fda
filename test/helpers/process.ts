/**
 * The Bond server as a real OS process, for end-to-end tests: spawn it on
 * 127.0.0.1 port 0, read the URL it prints, and send it signals. Only PIDs
 * spawned here are ever signalled; `killSpawned()` in afterAll is the backstop.
 */
import type { Subprocess } from "bun";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository root (this file is test/helpers/process.ts). */
export const REPO_ROOT = resolve(import.meta.dir, "..", "..");
/** The bun binary the project installs (never whatever `bun` is on PATH). */
export const BUN = join(REPO_ROOT, "node_modules", ".bin", "bun");

const LISTENING = /Bond listening on (http:\/\/\S+?)\/? /;

type Piped = Subprocess<"ignore", "pipe", "pipe">;

export interface BondProcess {
  readonly pid: number;
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  readonly wsUrl: string;
  /** Everything the process has written so far. */
  stdout(): string;
  stderr(): string;
  /** The exit code (a signal death gives 128 + signo, as a shell would report it). */
  readonly exited: Promise<number>;
  /** Sends `signal` to this process only. */
  signal(signal: NodeJS.Signals): void;
  /** Resolves once stdout contains `text`; rejects after `ms` or if the process exits first. */
  waitForStdout(text: string, ms?: number): Promise<void>;
  /** The exit code, or a rejection after `ms`. */
  waitForExit(ms: number): Promise<number>;
}

export interface SpawnOptions {
  /** The command; default: bun run index.ts in the repository. */
  cmd?: string[];
  /** Extra arguments after the command. */
  args?: string[];
  /** Extra environment (on top of a clean one: no BOND_* or OPENAI_* from the test's own environment). */
  env?: Record<string, string>;
  cwd?: string;
  /** How long start-up may take before the spawn counts as failed. */
  startMs?: number;
}

/** Every process spawned here that has not exited yet. */
const live = new Set<Piped>();

/** The parent's environment minus anything that would configure Bond behind the test's back. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("BOND_") || k.startsWith("OPENAI_")) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function defaultCmd(): string[] {
  return [BUN, "run", join(REPO_ROOT, "index.ts")];
}

function spawnPiped(cmd: string[], env: Record<string, string>, cwd: string): Piped {
  const proc = Bun.spawn(cmd, { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  return proc;
}

/** Drains a pipe into a growing string so the child never blocks on a full pipe. */
function collect(stream: ReadableStream<Uint8Array>, onText: () => void): { text(): string; done: Promise<void> } {
  let text = "";
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  const done = (async () => {
    for (;;) {
      const { done: ended, value } = await reader.read();
      if (ended) break;
      text += decoder.decode(value, { stream: true });
      onText();
    }
    text += decoder.decode();
    onText();
  })().catch(() => {});
  return { text: () => text, done };
}

function exitCode(proc: Piped): Promise<number> {
  return proc.exited.then((code) => {
    if (proc.signalCode) return 128 + (signalNumbers[proc.signalCode] ?? 0);
    return code;
  });
}

const signalNumbers: Partial<Record<string, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * Starts the server and waits for its "Bond listening on …" line.
 * Defaults to `--host 127.0.0.1 --port 0` unless `args` set them.
 */
export async function spawnBond(options: SpawnOptions = {}): Promise<BondProcess> {
  const args = options.args ?? [];
  const where = [
    ...(args.includes("--host") ? [] : ["--host", "127.0.0.1"]),
    ...(args.includes("--port") ? [] : ["--port", "0"]),
  ];
  const proc = spawnPiped([...(options.cmd ?? defaultCmd()), ...where, ...args], cleanEnv(options.env), options.cwd ?? REPO_ROOT);

  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of waiters) w();
  };
  const out = collect(proc.stdout, wake);
  const err = collect(proc.stderr, wake);
  const exited = exitCode(proc);
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    wake();
  });

  const waitForStdout = (text: string, ms = 10_000): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (out.text().includes(text)) done(null);
        else if (hasExited) done(new Error(`process exited before printing ${JSON.stringify(text)}; stderr: ${err.text().trim()}`));
      };
      const timer = setTimeout(() => done(new Error(`no ${JSON.stringify(text)} on stdout after ${ms} ms; stdout: ${out.text().trim()}`)), ms);
      function done(error: Error | null): void {
        clearTimeout(timer);
        waiters.delete(check);
        if (error) reject(error);
        else resolve();
      }
      waiters.add(check);
      check();
    });

  try {
    await waitForStdout("Bond listening on ", options.startMs ?? 15_000);
    // The line is written in one call, but make sure its end has arrived too.
    await waitForStdout(")\n", 2000);
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  }
  const match = LISTENING.exec(out.text());
  if (!match?.[1]) {
    proc.kill("SIGKILL");
    throw new Error(`cannot parse the URL from: ${out.text()}`);
  }
  const url = match[1].replace(/\/$/, "");
  return {
    pid: proc.pid,
    url,
    wsUrl: `${url.replace(/^http/, "ws")}/ws`,
    stdout: out.text,
    stderr: err.text,
    exited,
    signal(signal) {
      if (!hasExited) proc.kill(signal);
    },
    waitForStdout,
    waitForExit: (ms) => withTimeout(exited, ms, `process ${proc.pid} to exit`),
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the server command to completion (for --help and start-up errors); kills it after `ms`. */
export async function runBond(args: string[], options: { env?: Record<string, string>; cmd?: string[]; cwd?: string; ms?: number } = {}): Promise<RunResult> {
  const proc = spawnPiped([...(options.cmd ?? defaultCmd()), ...args], cleanEnv(options.env), options.cwd ?? REPO_ROOT);
  const out = collect(proc.stdout, () => {});
  const err = collect(proc.stderr, () => {});
  const ms = options.ms ?? 15_000;
  try {
    const code = await withTimeout(exitCode(proc), ms, `${args.join(" ")} to exit`);
    await Promise.all([out.done, err.done]);
    return { code, stdout: out.text(), stderr: err.text() };
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  }
}

/** SIGKILLs every process spawned here that is still running (for afterAll). */
export async function killSpawned(): Promise<void> {
  const procs = [...live];
  for (const proc of procs) proc.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited.catch(() => 0)));
}

/**
 * Builds the binary with `bun run build`'s flags into a temp dir, then copies it alone into a
 * fresh one (no node_modules anywhere near it). Throws with the compiler's output on failure.
 * Every temp dir made is pushed to `dirs` for the caller to remove.
 */
export async function buildBinaryAlone(dirs: string[], timeoutMs = 110_000): Promise<{ binary: string; dir: string }> {
  const buildDir = await mkdtemp(join(tmpdir(), "bond-build-"));
  dirs.push(buildDir);
  const outfile = join(buildDir, "bond");
  const proc = Bun.spawn([BUN, "build", "--compile", "--bytecode", "--target=bun", join(REPO_ROOT, "index.ts"), "--outfile", outfile], {
    cwd: buildDir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(timer);
  if (code !== 0 || !existsSync(outfile)) {
    throw new Error(`bun build --compile failed (exit ${code}):\n${err.trim()}\n${out.trim()}`);
  }
  const dir = await mkdtemp(join(tmpdir(), "bond-run-"));
  dirs.push(dir);
  const binary = join(dir, "bond");
  await copyFile(outfile, binary);
  await chmod(binary, 0o755);
  return { binary, dir };
}
