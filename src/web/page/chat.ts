/**
 * The conversation: sends prompts with the client SDK, follows each run's events into its
 * TurnView, stops runs, and saves enough to resume the stream after a page reload.
 */
import { BondError, RunAccumulator, type BondClient, type BondEvent, type BondRun } from "../../client/index.ts";
import type { TurnStatus } from "./format.ts";
import { appendEvent, loadChat, saveChat, type SavedTurn } from "./store.ts";
import { TurnView } from "./turn-view.ts";

export interface ChatHooks {
  /** A client with the page's current settings (base URL, API key, transport). */
  client(): BondClient;
  /** A run started (true) or ended (false). */
  busy(busy: boolean): void;
  /** A short message for the status line (also read out by screen readers). */
  announce(message: string): void;
  /** The server asked for an API key (401). */
  needKey(): void;
}

/** Saving on every delta would be wasteful; a reload loses nothing either way (the stream resumes after the last saved event). */
const SAVE_EVERY_MS = 250;
const STOPPED_REASON = "stopped from the page";
/** After Stop, how long the stream may take to bring the server's `cancelled` before the page gives up reading. */
const STOP_FALLBACK_MS = 5000;

class Turn {
  readonly acc = new RunAccumulator();
  readonly view: TurnView;
  private renderQueued = false;

  constructor(
    readonly saved: SavedTurn,
    index: number,
  ) {
    for (const event of saved.events) this.acc.push(event);
    if (saved.stopped) this.acc.markCancelled(STOPPED_REASON);
    this.view = new TurnView(saved.prompt, index);
    this.render();
  }

  get status(): TurnStatus {
    const status = this.acc.state.status;
    return status === "streaming" && this.saved.failure !== null ? "failed" : status;
  }

  apply(event: BondEvent): void {
    this.acc.push(event);
    appendEvent(this.saved.events, event);
    this.saved.lastEventId = event.eventId;
  }

  render(): void {
    this.renderQueued = false;
    this.view.render(this.acc.state, this.status, this.saved.failure);
  }

  /** Deltas arrive faster than frames: render once per frame. */
  renderSoon(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      if (this.renderQueued) this.render();
    });
  }
}

interface ActiveRun {
  turn: Turn;
  controller: AbortController;
  stopping: boolean;
}

export class Chat {
  private sessionId: string | null = null;
  private turns: Turn[] = [];
  private active: ActiveRun | null = null;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  /** Set when the page goes away: its streams are cut, and that must not be saved as a failure. */
  private frozen = false;

  constructor(
    private readonly log: HTMLElement,
    private readonly emptyHint: HTMLElement,
    private readonly hooks: ChatHooks,
  ) {}

  get running(): boolean {
    return this.active !== null;
  }

  /** Shows the conversation saved in this tab and, if its last answer was still streaming, resumes it. */
  restore(): void {
    const saved = loadChat();
    this.sessionId = saved.sessionId;
    for (const turn of saved.turns) this.addTurn(turn);
    const last = this.turns[this.turns.length - 1];
    if (!last || last.status !== "streaming") {
      void this.checkSession();
      return;
    }
    if (this.sessionId === null) {
      last.saved.failure = "The page was reloaded before the server accepted the question.";
      last.render();
      this.saveNow();
      return;
    }
    const controller = new AbortController();
    const run = this.hooks.client().resume(this.sessionId, {
      lastEventId: last.saved.lastEventId ?? undefined,
      streamUrl: last.saved.streamUrl ?? undefined,
      signal: controller.signal,
    });
    this.hooks.announce("Resuming the answer…");
    void this.follow(last, run, controller);
  }

  send(prompt: string): void {
    if (this.active) return;
    const turn = this.addTurn({ prompt, events: [], lastEventId: null, streamUrl: null, failure: null, stopped: false });
    const controller = new AbortController();
    const run = this.hooks.client().ask(prompt, {
      sessionId: this.sessionId ?? undefined,
      signal: controller.signal,
      onSession: (id) => {
        // Saved at once: a reload from here on can find the run again.
        this.sessionId = id;
        this.saveNow();
      },
    });
    this.saveNow();
    this.hooks.announce("Answering…");
    void this.follow(turn, run, controller);
  }

  /**
   * Stops the running answer. Cancelling on the server and reading on gets the run's own `usage`
   * and `cancelled` events (token use of a stopped answer too); before the server has named the
   * session, or if the stream does not end soon, aborting makes the SDK cancel and stop reading.
   */
  stop(): void {
    const active = this.active;
    if (!active || active.stopping) return;
    active.stopping = true;
    this.hooks.announce("Stopping…");
    if (this.sessionId === null) {
      active.controller.abort();
      return;
    }
    this.hooks.client().cancel(this.sessionId).catch(() => undefined); // 409: it had just ended anyway
    setTimeout(() => {
      if (this.active === active) active.controller.abort();
    }, STOP_FALLBACK_MS);
  }

  /** Forgets this conversation (and deletes its session on the server) and starts a fresh one. */
  reset(): void {
    const old = this.sessionId;
    this.active?.controller.abort();
    this.active = null;
    this.sessionId = null;
    this.turns = [];
    this.log.replaceChildren();
    this.emptyHint.hidden = false;
    this.saveNow();
    this.hooks.busy(false);
    this.hooks.announce("New conversation.");
    if (old !== null) this.hooks.client().delete(old).catch(() => undefined); // best effort: it expires anyway
  }

  /** Writes the reload state now (also called when the page is hidden). */
  saveNow(): void {
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (!this.frozen) saveChat({ sessionId: this.sessionId, turns: this.turns.map((t) => t.saved) });
  }

  /** The page is going away: save, then ignore the cut streams so the next load resumes them. */
  freeze(): void {
    this.saveNow();
    this.frozen = true;
  }

  /** After a reload: if the server has forgotten the session (expired, restarted), say so and start a new one. */
  private async checkSession(): Promise<void> {
    const id = this.sessionId;
    if (id === null) return;
    try {
      await this.hooks.client().session(id);
    } catch (err) {
      if (!(err instanceof BondError && err.status === 404) || this.sessionId !== id) return;
      this.sessionId = null;
      this.saveNow();
      this.hooks.announce("The server no longer has this conversation: your next question starts a new one.");
    }
  }

  private saveSoon(): void {
    this.saveTimer ??= setTimeout(() => this.saveNow(), SAVE_EVERY_MS);
  }

  private addTurn(saved: SavedTurn): Turn {
    const turn = new Turn(saved, this.turns.length + 1);
    this.turns.push(turn);
    this.emptyHint.hidden = true;
    this.log.append(turn.view.root);
    return turn;
  }

  private async follow(turn: Turn, run: BondRun, controller: AbortController): Promise<void> {
    this.active = { turn, controller, stopping: false };
    this.hooks.busy(true);
    try {
      for await (const event of run) {
        turn.saved.streamUrl ??= run.streamUrl;
        const pinned = nearBottom();
        turn.apply(event);
        turn.renderSoon();
        this.saveSoon();
        if (pinned) requestAnimationFrame(scrollToBottom);
      }
      if (turn.acc.state.status === "streaming") turn.saved.failure = "The stream ended before the answer did.";
    } catch (err) {
      if (this.frozen) return;
      if (controller.signal.aborted) {
        turn.saved.stopped = true;
        turn.acc.markCancelled(STOPPED_REASON);
      } else {
        turn.saved.failure = describe(err);
        if (err instanceof BondError && err.status === 401) this.hooks.needKey();
      }
    }
    if (this.frozen) return;
    turn.render();
    if (this.active?.turn !== turn) return; // a new conversation replaced this one meanwhile
    this.active = null;
    this.saveNow();
    this.hooks.busy(false);
    this.hooks.announce(outcome(turn));
    scrollToBottom();
  }
}

function describe(err: unknown): string {
  if (err instanceof BondError) {
    if (err.status === 401) return "The server wants a valid API key: enter it above, then send again.";
    const retry = err.retryAfterSeconds !== undefined ? ` Try again in ${err.retryAfterSeconds} s.` : "";
    return `${err.message}${retry}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function outcome(turn: Turn): string {
  switch (turn.status) {
    case "completed":
      return "Answer complete.";
    case "cancelled":
      return "Answer cancelled.";
    case "error":
      return `The run failed: ${turn.acc.state.error ?? "unknown error"}`;
    case "failed":
      return `Failed: ${turn.saved.failure ?? "unknown error"}`;
    case "streaming":
      return "";
  }
}

function nearBottom(): boolean {
  const page = document.scrollingElement ?? document.documentElement;
  return page.scrollHeight - page.scrollTop - page.clientHeight < 120;
}

function scrollToBottom(): void {
  const page = document.scrollingElement ?? document.documentElement;
  page.scrollTop = page.scrollHeight;
}
