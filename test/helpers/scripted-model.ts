import type { Model, ModelChunk, ModelRequest } from "../../src/agent/models/model.ts";

/** One step of a scripted round: a chunk to yield, or a pause (abortable). */
export type Step = ModelChunk | { pause: number };

/**
 * A Model (the user-facing seam) that plays scripted rounds: round i of each run
 * plays `rounds[i]`. Records the requests it received.
 */
export class ScriptedModel implements Model {
  readonly name = "scripted";
  readonly requests: ModelRequest[] = [];

  constructor(private readonly rounds: (request: ModelRequest, round: number) => Step[]) {}

  async *stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelChunk> {
    this.requests.push(request);
    const round = countRoundsSinceUser(request);
    for (const step of this.rounds(request, round)) {
      if ("pause" in step) await abortableSleep(step.pause, signal);
      else yield step;
      signal.throwIfAborted();
    }
  }
}

function countRoundsSinceUser(request: ModelRequest): number {
  let rounds = 0;
  for (let i = request.messages.length - 1; i >= 0 && request.messages[i]!.role !== "user"; i--) {
    if (request.messages[i]!.role === "assistant") rounds++;
  }
  return rounds;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

export const usage = (p = 1, c = 1): ModelChunk => ({ type: "usage", prompt_tokens: p, completion_tokens: c, cost: null });
export const text = (content: string): ModelChunk => ({ type: "text", content });
