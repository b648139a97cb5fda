import type { BondAgent, RunOutcome } from "../agent/agent.ts";
import { RunStop } from "../agent/abort.ts";
import type { AgentEvent } from "../agent/events.ts";
import type { Run, RunStatus } from "./run.ts";
import type { Session } from "./session.ts";

const TERMINAL_STATUS: Record<string, Exclude<RunStatus, "running">> = {
  complete: "completed",
  error: "error",
  cancelled: "cancelled",
};

/** Told when a pumped run is over and its outcome applied (an object, not a callback: nothing made per run). */
export interface RunEndListener {
  runEnded(session: Session, run: Run): void;
}

/** Drives one run of the agent into the run's log, applies its outcome to the session, then tells `ended`. */
export async function pumpRun(agent: BondAgent, session: Session, run: Run, prompt: string, ended: RunEndListener): Promise<void> {
  try {
    // The agent appends to the session's history as the run goes (no copy per run): the prompt
    // first, then each completed tool round, then the answer; a partial answer never.
    const history = session.history;
    const before = history.length;
    const log = run.log;
    let outcome: RunOutcome | null = null;
    try {
      outcome = await agent.runInto({ history, conversation: history, prompt, signal: run.signal, sessionId: session.id }, (event: AgentEvent) => {
        // Over its limits the log refuses events: stop the agent, which then ends the run with usage and an error.
        if (!log.append(event) && log.overflowed) run.cancel(new RunStop(log.overflowMessage, "error"));
      });
    } catch (err) {
      console.error("[bond] agent loop failed:", err);
    }
    let status: Exclude<RunStatus, "running"> = "error";
    if (log.isEnded) {
      // The terminal event is the log's last (it takes nothing after one), and it says how the run ended.
      const terminal = log.entryAt(log.length - 1);
      status = (typeof terminal === "string" ? undefined : TERMINAL_STATUS[terminal.type]) ?? "error";
    } else {
      // The agent broke its contract (threw, or ended without a terminal event): still end the run properly.
      log.append({ type: "usage", prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, total_cost: null, model: agent.model.name });
      log.append({ type: "error", error: "The agent failed with an internal error." });
    }
    const usage = outcome?.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, total_cost: null };
    if (history.length === before) history.push({ role: "user", content: prompt });
    session.addUsage(usage);
    run.markFinished(status, usage);
  } finally {
    // Told here, not in a .finally() on the promise: that cost a closure, two scopes and a promise per run.
    ended.runEnded(session, run);
  }
}
