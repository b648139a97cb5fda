import { ModelError, type Model, type ModelChunk, type ModelRequest } from "../../src/agent/models/model.ts";

/**
 * A model whose behaviour the prompt picks: "fail" → a ModelError (the run
 * errors), "slow" → one delta then a wait until cancelled (up to a minute),
 * anything else → two deltas. Every reply reports 3 prompt tokens, 2
 * completion tokens and a cost of 0.25 USD.
 */
export class PromptModel implements Model {
  readonly name = "prompt-model";

  async *stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelChunk> {
    const last = [...request.messages].reverse().find((m) => m.role === "user")?.content ?? "";
    if (last.includes("fail")) throw new ModelError("scripted failure");
    yield { type: "text", content: "hello " };
    if (last.includes("slow")) await waitForAbort(signal, 60_000);
    yield { type: "text", content: "world" };
    yield { type: "usage", prompt_tokens: 3, completion_tokens: 2, cost: 0.25 };
  }
}

function waitForAbort(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
