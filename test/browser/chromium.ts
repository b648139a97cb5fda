/**
 * Headless Debian Chromium for the browser tests, driven by playwright-core — never a downloaded
 * browser. In CI (CI=true) a missing /usr/bin/chromium fails the tests; elsewhere they skip, saying why.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const IN_CI = process.env.CI === "true" || process.env.CI === "1";

/** Whether to skip the browser tests: only outside CI, and only when Chromium is missing. */
export const SKIP_BROWSER = !IN_CI && !existsSync(CHROMIUM_PATH);
if (SKIP_BROWSER) {
  console.warn(`[browser tests] skipped: ${CHROMIUM_PATH} is missing (install it: apt-get install -y chromium). In CI (CI=true) they fail instead.`);
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** test/artifacts/ (gitignored): screenshots of the run. */
export const ARTIFACTS_DIR = join(import.meta.dir, "..", "artifacts");

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Collects what would show in the browser console as a problem: script errors, CSP violations, failed loads. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  page.on("requestfailed", (req) => {
    // ERR_ABORTED is the page dropping a response on purpose: a stream at reload or Stop, or the
    // body of a 202 the client does not read. Anything else (refused, blocked by CSP) is a problem.
    const error = req.failure()?.errorText ?? "";
    if (error !== "net::ERR_ABORTED") problems.push(`requestfailed: ${req.url()} ${error}`);
  });
  return problems;
}
