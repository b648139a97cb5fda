/**
 * Checks one run's event sequence against the contract the benchmark relies
 * on: ids `<run>:<seq>` with seq 1, 2, 3 … and one run number; exactly N
 * `text` events; one terminal `complete`, last, whose data equals the joined
 * deltas. Transport-neutral: SSE and WS clients both feed it.
 */

export class RunChecker {
  texts = 0;
  joined = "";
  /** Name of the terminal event once seen. */
  terminal: string | null = null;
  /** First problem found, as a short kind string used for counting. */
  problem: string | null = null;
  private run = -1;
  private seq = 0;

  constructor(private readonly n: number) {}

  /** `content` is the text delta for `text` events, the `data` field for `complete`, else ignored. */
  event(id: string, name: string, content: string | undefined): void {
    if (this.terminal !== null) return this.fail(`event after terminal (${name})`);
    const colon = id.indexOf(":");
    const run = colon > 0 ? Number(id.slice(0, colon)) : Number.NaN;
    const seq = colon > 0 ? Number(id.slice(colon + 1)) : Number.NaN;
    if (!Number.isInteger(run) || !Number.isInteger(seq)) return this.fail("malformed event id");
    if (this.run === -1) this.run = run;
    else if (run !== this.run) return this.fail("run number changed within a run");
    if (seq !== this.seq + 1) return this.fail(`id gap (expected seq ${this.seq + 1})`);
    this.seq = seq;
    switch (name) {
      case "text":
        this.texts++;
        this.joined += content ?? "";
        return;
      case "complete":
        this.terminal = name;
        if (this.texts !== this.n) return this.fail(`text count ${this.texts} != ${this.n}`);
        if (content !== this.joined) return this.fail("complete data != joined deltas");
        return;
      case "error":
      case "cancelled":
        this.terminal = name;
        return this.fail(`terminal ${name}`);
    }
  }

  /** Call when the run's stream ended normally; returns the problem, if any. */
  end(): string | null {
    if (this.terminal === null) this.fail("stream ended without terminal");
    return this.problem;
  }

  fail(kind: string): void {
    if (this.problem === null) this.problem = kind;
  }
}

/** Error counts by kind; every failed run adds exactly one. */
export class ErrorTally {
  count = 0;
  readonly kinds: Record<string, number> = {};
  add(kind: string): void {
    this.count++;
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
  }
}

export function describe(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === "TimeoutError" || e.name === "AbortError") return e.name;
    return e.message.split("\n")[0]?.slice(0, 80) ?? "error";
  }
  return String(e).slice(0, 80);
}
