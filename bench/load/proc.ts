import { readdirSync, readFileSync } from "node:fs";

/** Reads a process's CPU time and resident memory from /proc (Linux only). */

/** Clock ticks per second for /proc/<pid>/stat times; 100 on every mainstream Linux. */
const CLK_TCK = Number(process.env.BENCH_CLK_TCK ?? 100);

/** utime + stime of `pid` in seconds, or NaN when unreadable. */
export async function cpuSeconds(pid: number | "self"): Promise<number> {
  try {
    const stat = await Bun.file(`/proc/${pid}/stat`).text();
    // The command name (field 2) may hold spaces: fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** VmRSS of `pid` in KiB, or NaN when unreadable. */
export async function rssKiB(pid: number | "self"): Promise<number> {
  try {
    const status = await Bun.file(`/proc/${pid}/status`).text();
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Measures CPU % of a process between start() and stop() (100 % = one core busy). */
export class CpuMeter {
  private cpu0 = 0;
  private t0 = 0;
  constructor(private readonly pid: number | "self") {}
  async start(): Promise<void> {
    this.cpu0 = await cpuSeconds(this.pid);
    this.t0 = performance.now();
  }
  async stop(): Promise<number> {
    const cpu1 = await cpuSeconds(this.pid);
    const wall = (performance.now() - this.t0) / 1000;
    return wall > 0 ? ((cpu1 - this.cpu0) / wall) * 100 : Number.NaN;
  }
}

/** Busy and total ticks of one CPU core (`cpuN` line of /proc/stat), or NaNs when unreadable. */
export async function coreTicks(core: number): Promise<{ busy: number; total: number }> {
  try {
    const stat = await Bun.file("/proc/stat").text();
    const start = stat.indexOf(`\ncpu${core} `);
    if (start < 0) return { busy: Number.NaN, total: Number.NaN };
    const line = stat.slice(start + 1, stat.indexOf("\n", start + 1));
    const f = line.split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: busy = user + nice + system + steal. Interrupt
    // time is left out: on loopback it is mostly the benchmark's own packets, not a neighbour's work.
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[7] ?? 0), total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/** How busy one core was between start() and stop(), in % (100 = fully busy). */
export class CoreMeter {
  private t0 = { busy: 0, total: 0 };
  constructor(private readonly core: number) {}
  async start(): Promise<void> {
    this.t0 = await coreTicks(this.core);
  }
  async stop(): Promise<number> {
    const t1 = await coreTicks(this.core);
    const total = t1.total - this.t0.total;
    return total > 0 ? ((t1.busy - this.t0.busy) / total) * 100 : Number.NaN;
  }
}

/**
 * Milliseconds the main thread of `pid` has spent runnable but waiting for a
 * CPU (run-queue wait, field 2 of /proc/<pid>/schedstat), or NaN when
 * unreadable. Synchronous and cheap (~10 µs) so it can bracket single runs.
 */
export function runQueueWaitMs(pid: number | "self"): number {
  try {
    const s = readFileSync(`/proc/${pid}/schedstat`, "utf8");
    return Number(s.split(" ")[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time of the threads of `pid` named `comm` (e.g. JSC's "JITWorker"), from
 * /proc/<pid>/task/<tid>/schedstat. JSC starts and ends its worker threads as
 * needed, so a plain sum would drop when one ends: `sinceLast()` adds each live
 * thread's growth since the previous call (a thread that ended in between loses
 * only what it ran after that call). NaN when /proc is unreadable.
 */
export class ThreadCpu {
  private last = new Map<string, number>();
  constructor(
    private readonly pid: number,
    private readonly comm: string,
  ) {
    this.sinceLast();
  }

  sinceLast(): number {
    const now = new Map<string, number>();
    try {
      for (const tid of readdirSync(`/proc/${this.pid}/task`)) {
        try {
          if (readFileSync(`/proc/${this.pid}/task/${tid}/comm`, "utf8").trim() !== this.comm) continue;
          now.set(tid, Number(readFileSync(`/proc/${this.pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]) / 1e6);
        } catch {
          // The thread ended between the listing and the read.
        }
      }
    } catch {
      return Number.NaN;
    }
    let grown = 0;
    for (const [tid, ms] of now) grown += ms - (this.last.get(tid) ?? 0);
    this.last = now;
    return grown;
  }
}

/**
 * Whether a server's JIT has settled, for a warm-up: after `quietWindows` windows in a row
 * (each closed by `endWindow`) in which its JITWorker threads ran under `quietMs` of CPU.
 * Without /proc every window counts as quiet, so a warm-up falls back to its minimum.
 */
export class JitSettling {
  private readonly jit: ThreadCpu;
  private quiet = 0;

  constructor(
    pid: number,
    private readonly quietMs: number,
    private readonly quietWindows: number,
  ) {
    this.jit = new ThreadCpu(pid, "JITWorker");
  }

  endWindow(): void {
    this.quiet = this.jit.sinceLast() >= this.quietMs ? 0 : this.quiet + 1;
  }

  get settled(): boolean {
    return this.quiet >= this.quietWindows;
  }

  /** JIT CPU milliseconds since the last window ended (or since the last call). */
  sinceLast(): number {
    return this.jit.sinceLast();
  }
}
