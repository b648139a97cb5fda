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
