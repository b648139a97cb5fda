/** One question and its answer on the page, re-rendered from the run's accumulated state. */
import type { AccumulatedToolCall, RunState } from "../../client/index.ts";
import { el, setText } from "./dom.ts";
import { formatArgs, formatUsage, statusLabel, type TurnStatus } from "./format.ts";

interface ToolView {
  item: HTMLLIElement;
  name: HTMLElement;
  state: HTMLElement;
  args: HTMLElement;
  resultLabel: HTMLElement;
  result: HTMLElement;
}

const TOOL_STATES: Readonly<Record<AccumulatedToolCall["state"], string>> = {
  forming: "forming the call…",
  running: "running…",
  done: "done",
};

export class TurnView {
  readonly root: HTMLElement;
  private readonly thinking: HTMLDetailsElement;
  private readonly thinkingLabel: HTMLElement;
  private readonly thinkingText: HTMLElement;
  private readonly tools: HTMLOListElement;
  private readonly toolViews: ToolView[] = [];
  private readonly answer: HTMLElement;
  private readonly status: HTMLElement;
  private readonly usage: HTMLElement;
  private readonly failure: HTMLElement;

  constructor(prompt: string, index: number) {
    this.thinkingLabel = el("span", {}, "Thinking");
    this.thinkingText = el("p", { class: "thinking-text" });
    this.thinking = el("details", { class: "thinking", hidden: "" }, el("summary", {}, this.thinkingLabel), this.thinkingText);
    this.tools = el("ol", { class: "tools", "aria-label": "Tool calls", hidden: "" });
    // Announced politely as it grows; aria-busy holds the announcement back until the answer is whole.
    this.answer = el("div", { class: "answer", "aria-live": "polite", "aria-busy": "true" });
    this.status = el("span", { class: "turn-status" });
    this.usage = el("span", { class: "usage" });
    this.failure = el("p", { class: "failure", role: "alert", hidden: "" });
    this.root = el(
      "article",
      { class: "turn", "aria-label": `Question ${index}`, "data-status": "streaming" },
      el(
        "section",
        { class: "msg user" },
        el("h2", { class: "who" }, "You"),
        el("p", { class: "content" }, prompt),
      ),
      el(
        "section",
        { class: "msg assistant" },
        el("h3", { class: "who" }, "Assistant"),
        this.thinking,
        this.tools,
        this.answer,
        this.failure,
        el("p", { class: "meta" }, this.status, " · ", this.usage),
      ),
    );
  }

  render(state: RunState, status: TurnStatus, failure: string | null): void {
    this.root.dataset.status = status;
    const streaming = status === "streaming";

    if (state.thinking !== "") this.thinking.hidden = false;
    setText(this.thinkingLabel, streaming && state.text === "" && state.toolCalls.length === 0 ? "Thinking…" : "Thinking");
    setText(this.thinkingText, state.thinking);

    if (state.toolCalls.length > 0) this.tools.hidden = false;
    state.toolCalls.forEach((call, i) => this.renderTool(call, this.toolViews[i] ?? this.addTool()));

    // The answer is the streamed text; after `complete`, its final output if the text was empty.
    setText(this.answer, state.text !== "" ? state.text : (state.output ?? ""));
    this.answer.setAttribute("aria-busy", String(streaming));

    let label = statusLabel(status);
    // "cancelled by client" says nothing new; "server shutting down" does.
    if (status === "cancelled" && state.reason && !/^cancel/i.test(state.reason)) label += ` (${state.reason})`;
    if (status === "error" && state.error) label += `: ${state.error}`;
    setText(this.status, label);
    setText(this.usage, formatUsage(state.usage));
    this.failure.hidden = failure === null;
    setText(this.failure, failure ?? "");
  }

  private addTool(): ToolView {
    const view: ToolView = {
      item: el("li", { class: "tool" }),
      name: el("span", { class: "tool-name" }),
      state: el("span", { class: "tool-state" }),
      args: el("pre", { class: "tool-args" }),
      resultLabel: el("dt", { hidden: "" }, "Result"),
      result: el("pre", { class: "tool-result" }),
    };
    const resultBody = el("dd", {}, view.result);
    view.item.append(
      el(
        "details",
        { open: "" },
        el("summary", {}, "Tool ", view.name, " — ", view.state),
        el("dl", {}, el("dt", {}, "Arguments"), el("dd", {}, view.args), view.resultLabel, resultBody),
      ),
    );
    this.tools.append(view.item);
    this.toolViews.push(view);
    return view;
  }

  private renderTool(call: AccumulatedToolCall, view: ToolView): void {
    view.item.dataset.state = call.state;
    view.item.classList.toggle("is-error", call.isError === true);
    setText(view.name, call.name || "…");
    setText(view.state, call.isError ? "failed" : TOOL_STATES[call.state]);
    setText(view.args, formatArgs(call.args, call.argsText));
    view.resultLabel.hidden = call.result === undefined;
    setText(view.result, call.result ?? "");
  }
}
