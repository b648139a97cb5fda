/**
 * The playground in a real browser (headless Chromium) against the real server: a question with
 * thinking, a tool call and its answer; Stop; reload mid-answer; both transports; a phone screen.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { getJson, startServer, waitUntil, type TestServer } from "../helpers/server.ts";
import { launchChromium, screenshot, SKIP_BROWSER, watchProblems } from "./chromium.ts";

/** The demo model's answer to anything that is not arithmetic, time or names: long enough to interrupt. */
const LONG_PROMPT = "Tell me about the playground";
const SLOW_DELAY_MS = 100;

describe.skipIf(SKIP_BROWSER)("playground in Chromium", () => {
  let browser: Browser;
  let fast: TestServer;
  let slow: TestServer;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    fast = startServer({ demo_delay_ms: 5 });
    slow = startServer({ demo_delay_ms: SLOW_DELAY_MS });
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await fast?.stop();
    await slow?.stop();
  });

  async function open(server: TestServer, viewport = { width: 1100, height: 800 }): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const problems = watchProblems(page);
    await page.goto(`${server.url}/`);
    await page.waitForSelector("html[data-ready=true]");
    return { page, problems };
  }

  async function ask(page: Page, prompt: string): Promise<void> {
    await page.fill("#prompt", prompt);
    await page.press("#prompt", "Enter");
  }

  /** The turn's answer text once the turn has the given status. */
  async function waitForTurn(page: Page, n: number, status: string): Promise<void> {
    await page.waitForSelector(`.turn:nth-of-type(${n})[data-status="${status}"]`, { timeout: 30_000 });
  }

  async function savedSessionId(page: Page): Promise<string> {
    const id = await page.evaluate(() => {
      const raw = sessionStorage.getItem("bond.playground.chat.v1");
      return raw ? (JSON.parse(raw) as { sessionId: string | null }).sessionId : null;
    });
    if (!id) throw new Error("the page saved no session id");
    return id;
  }

  async function finalAssistantContent(server: TestServer, sessionId: string): Promise<string> {
    const { json } = await getJson(`${server.url}/sessions/${sessionId}`);
    const history = json.history as { role: string; content: string }[];
    const assistant = history.filter((m) => m.role === "assistant");
    return assistant[assistant.length - 1]!.content;
  }

  async function answerText(page: Page, n = 1): Promise<string> {
    return page.locator(`.turn:nth-of-type(${n}) .answer`).innerText();
  }

  test("arithmetic over SSE: thinking, the calculator call and the answer appear", async () => {
    const { page, problems } = await open(fast);
    expect(await page.locator("#server-info").innerText()).toContain("test-agent");
    expect(await page.isHidden("#api-key-row")).toBe(true); // no auth on this server

    await ask(page, "What is 12*7?");
    await waitForTurn(page, 1, "completed");

    // Focus stays in the message box, ready for the next question.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("prompt");
    const turn = page.locator(".turn").first();
    expect(await turn.locator(".msg.user .content").innerText()).toBe("What is 12*7?");
    // Thinking is collapsed but present; opening it shows the text.
    expect(await turn.locator(".thinking").getAttribute("open")).toBeNull();
    await turn.locator(".thinking summary").click();
    expect(await turn.locator(".thinking-text").innerText()).toContain("calculator");
    expect(await turn.locator(".tool-name").innerText()).toBe("calculator");
    expect(JSON.parse(await turn.locator(".tool-args").innerText())).toEqual({ expression: "12*7" });
    expect(await turn.locator(".tool-result").innerText()).toBe("84");
    expect(await answerText(page)).toContain("84");
    expect(await turn.locator(".usage").innerText()).toMatch(/\d+ in · \d+ out · \d+ tokens · \$0 · demo/);
    expect(await turn.locator(".turn-status").innerText()).toBe("Completed");
    expect(await page.locator("#status").innerText()).toBe("Answer complete.");
    expect(await turn.locator(".answer").getAttribute("aria-busy")).toBe("false");
    // The answer matches what the server kept.
    expect(await answerText(page)).toBe(await finalAssistantContent(fast, await savedSessionId(page)));

    console.log(`screenshot: ${await screenshot(page, "playground-desktop.png")}`);
    expect(problems).toEqual([]);
  }, 40_000);

  test("Stop cancels the run: the page says so and the session is cancelled", async () => {
    const { page, problems } = await open(slow);
    await ask(page, LONG_PROMPT);
    await waitUntil(async () => (await answerText(page)).split(" ").length >= 3, 20_000, "a few words of the answer");
    expect(await page.isEnabled("#stop")).toBe(true);
    await page.click("#stop");

    await waitForTurn(page, 1, "cancelled");
    expect(await page.locator(".turn-status").innerText()).toBe("Cancelled");
    // The server's own usage event arrives before its `cancelled`: a stopped answer shows its cost too.
    expect(await page.locator(".usage").innerText()).toMatch(/\d+ in · \d+ out · \d+ tokens/);
    expect(await page.locator("#status").innerText()).toBe("Answer cancelled.");
    expect(await page.isDisabled("#stop")).toBe(true);
    expect(await page.isEnabled("#send")).toBe(true);

    const sessionId = await savedSessionId(page);
    await waitUntil(
      async () => (await getJson(`${slow.url}/sessions/${sessionId}`)).json.status === "cancelled",
      10_000,
      "the session to be cancelled",
    );
    // The answer stopped growing: it is a prefix of the full reply, well short of it.
    const cut = await answerText(page);
    expect(cut.length).toBeGreaterThan(0);
    await Bun.sleep(4 * SLOW_DELAY_MS);
    expect(await answerText(page)).toBe(cut);
    console.log(`screenshot: ${await screenshot(page, "playground-cancelled.png")}`);
    expect(problems).toEqual([]);
  }, 40_000);

  test("Escape stops the answer too", async () => {
    const { page } = await open(slow);
    await ask(page, LONG_PROMPT);
    await waitUntil(async () => (await answerText(page)).length > 0, 20_000, "the answer to start");
    await page.keyboard.press("Escape");
    await waitForTurn(page, 1, "cancelled");
    const sessionId = await savedSessionId(page);
    await waitUntil(async () => (await getJson(`${slow.url}/sessions/${sessionId}`)).json.status === "cancelled", 10_000, "cancelled");
  }, 40_000);

  for (const transport of ["sse", "ws"] as const) {
    test(`reload mid-answer over ${transport.toUpperCase()}: the answer completes without duplicated text`, async () => {
      const { page, problems } = await open(slow);
      if (transport === "ws") await page.check('input[name="transport"][value="ws"]');
      await ask(page, LONG_PROMPT);
      await waitUntil(async () => (await answerText(page)).split(" ").length >= 6, 20_000, "part of the answer");
      const before = await answerText(page);
      const sessionId = await savedSessionId(page);

      // Watch how the reloaded page picks the run up again: after the last event it had, not from the start.
      const resumedAfter: string[] = [];
      page.on("request", (req) => {
        if (new URL(req.url()).pathname.startsWith("/stream/")) resumedAfter.push(req.headers()["last-event-id"] ?? "(none)");
      });
      page.on("websocket", (ws) =>
        ws.on("framesent", ({ payload }) => {
          const frame = JSON.parse(String(payload)) as { type?: string; last_event_id?: string };
          if (frame.type === "resume") resumedAfter.push(frame.last_event_id ?? "(none)");
        }),
      );
      await page.reload();
      await page.waitForSelector("html[data-ready=true]");
      expect(await page.isChecked(`input[name="transport"][value="${transport}"]`)).toBe(true);
      // What was shown before the reload is shown again at once, from this tab's storage.
      expect((await answerText(page)).startsWith(before.slice(0, 20))).toBe(true);
      await waitForTurn(page, 1, "completed");

      expect(await page.locator(".turn").count()).toBe(1);
      const final = await answerText(page);
      expect(final).toBe(await finalAssistantContent(slow, sessionId));
      expect(final.startsWith(before)).toBe(true);
      expect(resumedAfter.length).toBeGreaterThanOrEqual(1);
      expect(resumedAfter[0]).toMatch(/^1:\d+$/);
      expect(Number(resumedAfter[0]!.split(":")[1])).toBeGreaterThan(6);
      expect(await page.locator(".thinking-text").textContent()).toBe(
        "This is not arithmetic, a time question or about names, so I will answer directly.",
      );
      expect(problems).toEqual([]);
    }, 60_000);
  }

  test("arithmetic over WebSocket, then a second turn in the same session", async () => {
    const { page, problems } = await open(fast);
    await page.check('input[name="transport"][value="ws"]');
    await ask(page, "What is 6*7?");
    await waitForTurn(page, 1, "completed");
    expect(await page.locator(".tool-result").innerText()).toBe("42");
    expect(await answerText(page)).toContain("42");

    await ask(page, "What is 12*7?");
    await waitForTurn(page, 2, "completed");
    expect(await answerText(page, 2)).toContain("84");
    const sessionId = await savedSessionId(page);
    expect((await getJson(`${fast.url}/sessions/${sessionId}`)).json.runs).toBe(2);
    expect(problems).toEqual([]);
  }, 40_000);

  test("New conversation starts a fresh session", async () => {
    const { page } = await open(fast);
    await ask(page, "What is 1+1?");
    await waitForTurn(page, 1, "completed");
    const first = await savedSessionId(page);
    await page.click("#new-chat");
    expect(await page.locator(".turn").count()).toBe(0);
    expect(await page.isVisible("#empty")).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("prompt");
    await ask(page, "What is 2+2?");
    await waitForTurn(page, 1, "completed");
    expect(await savedSessionId(page)).not.toBe(first);
    // The old session was deleted on the server.
    await waitUntil(async () => (await getJson(`${fast.url}/sessions/${first}`)).status === 404, 5000, "the old session to go");
  }, 40_000);

  test("after a reload, a conversation the server forgot is said to be gone; the next question starts a new one", async () => {
    const { page } = await open(fast);
    await ask(page, "What is 1+2?");
    await waitForTurn(page, 1, "completed");
    const first = await savedSessionId(page);
    expect((await fetch(`${fast.url}/sessions/${first}`, { method: "DELETE" })).status).toBe(204);
    await page.reload();
    await waitUntil(async () => (await page.locator("#status").innerText()).includes("no longer has"), 5000, "the notice");
    expect(await page.locator(".turn").count()).toBe(1); // what was said stays on screen
    await ask(page, "What is 2+3?");
    await waitForTurn(page, 2, "completed");
    expect(await savedSessionId(page)).not.toBe(first);
  }, 40_000);

  test("a phone screen: everything fits and stays usable", async () => {
    const { page, problems } = await open(fast, { width: 390, height: 844 });
    await ask(page, "What is 12*7?");
    await waitForTurn(page, 1, "completed");
    // Nothing overflows sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    for (const id of ["#send", "#stop", "#new-chat", "#prompt"]) {
      const box = await page.locator(id).boundingBox();
      expect(box).not.toBeNull();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(390);
      expect(box!.height).toBeGreaterThanOrEqual(40); // touch-sized
    }
    console.log(`screenshot: ${await screenshot(page, "playground-phone.png")}`);
    await page.emulateMedia({ colorScheme: "dark" });
    console.log(`screenshot: ${await screenshot(page, "playground-phone-dark.png")}`);
    expect(problems).toEqual([]);
  }, 40_000);

  test("the CSP blocks inline script; the page itself needs none", async () => {
    const { page, problems } = await open(fast);
    const ran = await page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "document.documentElement.dataset.inline = 'ran'";
      document.head.append(script);
      return document.documentElement.dataset.inline ?? "blocked";
    });
    expect(ran).toBe("blocked");
    expect(problems.some((p) => p.includes("Content Security Policy"))).toBe(true);
  }, 20_000);

  for (const transport of ["sse", "ws"] as const) {
    test(`with auth on: the key field shows, a missing key is explained, a good key works (${transport.toUpperCase()})`, async () => {
      const secured = startServer({ demo_delay_ms: 5, api_keys: ["pg-key-1"] });
      try {
        const { page, problems } = await open(secured);
        await page.waitForSelector("#api-key-row:not([hidden])");
        if (transport === "ws") await page.check('input[name="transport"][value="ws"]');
        // No key: the page says so at once and puts the cursor in the key field; nothing is sent.
        await ask(page, "What is 2*21?");
        await waitUntil(async () => (await page.locator("#status").innerText()).includes("needs an API key"), 5000, "the hint");
        expect(await page.evaluate(() => document.activeElement?.id)).toBe("api-key");
        expect(await page.inputValue("#prompt")).toBe("What is 2*21?");
        // A wrong key is caught over HTTP first (a browser cannot see why a WebSocket upgrade failed).
        await page.fill("#api-key", "wrong");
        await page.press("#prompt", "Enter");
        await waitUntil(async () => (await page.locator("#status").innerText()).includes("did not accept"), 5000, "the refusal");
        expect(await page.locator(".turn").count()).toBe(0);
        await page.fill("#api-key", "pg-key-1");
        await page.press("#prompt", "Enter");
        await waitForTurn(page, 1, "completed");
        expect(await answerText(page, 1)).toContain("42");
        // The key stays in this tab across a reload (sessionStorage), never in the URL.
        await page.reload();
        expect(await page.inputValue("#api-key")).toBe("pg-key-1");
        expect(page.url()).not.toContain("pg-key");
        // The key checks log their expected answers (401 for the wrong key, 404 for the good one: no
        // such session); nothing else went wrong.
        expect(problems.filter((p) => !/status of (401|404)/.test(p))).toEqual([]);
      } finally {
        await secured.stop();
      }
    }, 40_000);
  }

  test("accessible: labelled controls, keyboard order, a live answer region", async () => {
    const { page } = await open(fast);
    // Every form control has an accessible name.
    const unnamed = await page.evaluate(() =>
      Array.from(document.querySelectorAll("input, textarea, button"))
        .filter((e) => !(e as HTMLElement).hidden && e.closest("[hidden]") === null)
        .filter((e) => {
          const labels = (e as HTMLInputElement).labels;
          return !(labels && labels.length > 0) && !e.getAttribute("aria-label") && (e.textContent ?? "").trim() === "";
        })
        .map((e) => e.outerHTML),
    );
    expect(unnamed).toEqual([]);
    // The skip link comes first and leads to the message box.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.className)).toBe("skip-link");
    await page.keyboard.press("Enter");
    await page.keyboard.type("What is 3*3?");
    await page.keyboard.press("Enter");
    await waitForTurn(page, 1, "completed");
    expect(await page.locator(".answer").getAttribute("aria-live")).toBe("polite");
    expect(await page.locator("#status").getAttribute("role")).toBe("status");
    // Focus is visible: the focused button gets an outline.
    await page.focus("#new-chat");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Tab");
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).toBe("solid");
  }, 40_000);
});
