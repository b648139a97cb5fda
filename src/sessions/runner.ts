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

/** Drives one run of the agent into the run's log, then applies its outcome to the session. */
export async function pumpRun(agent: BondAgent, session: Session, run: Run, prompt: string): Promise<void> {
  // The agent appends to the session's history as the run goes (no copy per run): the prompt
  // first, then each completed tool round, then the answer; a partial answer never.
  const history = session.history;
  const before = history.length;
  const signal = run.signal;
  let status: Exclude<RunStatus, "running"> = "error";
  let outcome: RunOutcome | null = null;
  try {
    outcome = await agent.runInto({ history, conversation: history, prompt, signal, sessionId: session.id }, (event: AgentEvent) => {
      const terminal = TERMINAL_STATUS[event.type];
      if (terminal) status = terminal;
      // Over its limits the log refuses events: stop the agent, which then ends the run with usage and an error.
      if (!run.log.append(event) && run.log.overflowed) run.cancel(new RunStop(run.log.overflowMessage, "error"));
    });
  } catch (err) {
    console.error("[bond] agent loop failed:", err);
  }
  if (!run.log.isEnded) {
    // The agent broke its contract (threw, or ended without a terminal event): still end the run properly.
    run.log.append({ type: "usage", prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, total_cost: null, model: agent.model.name });
    run.log.append({ type: "error", error: "The agent failed with an internal error." });
    status = "error";
  }
  const usage = outcome?.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, total_cost: null };
  if (history.length === before) history.push({ role: "user", content: prompt });
  session.addUsage(usage);
  run.markFinished(status, usage);
}
