/**
 * The playground from the compiled `bond` binary, alone in an empty directory: the page, the CSS
 * and the transpiled SDK modules all come out of the binary, and a question gets its answer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rm } from "node:fs/promises";
import type { Browser } from "playwright-core";
import { buildBinaryAlone, killSpawned, spawnBond, type BondProcess } from "../helpers/process.ts";
import { launchChromium, SKIP_BROWSER, watchProblems } from "./chromium.ts";

const dirs: string[] = [];

/** `bun run build`'s flags, into a temp dir; the binary is then copied alone into another. */
function buildBinary(): Promise<{ binary: string; dir: string }> {
  return buildBinaryAlone(dirs, 90_000);
}

describe.skipIf(SKIP_BROWSER)("playground in the compiled binary", () => {
  let browser: Browser;
  let bond: BondProcess;

  beforeAll(async () => {
    const { binary, dir } = await buildBinary();
    bond = await spawnBond({ cmd: [binary], cwd: dir, args: ["--demo-delay-ms", "5"] });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await killSpawned();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  for (const transport of ["sse", "ws"] as const) {
    test(`a question over ${transport.toUpperCase()} gets the calculator's answer`, async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(20_000);
        const problems = watchProblems(page);
        await page.goto(`${bond.url}/`);
        await page.waitForSelector("html[data-ready=true]");
        await page.check(`input[name="transport"][value="${transport}"]`);
        await page.fill("#prompt", "What is 12*7?");
        await page.press("#prompt", "Enter");
        await page.waitForSelector('.turn[data-status="completed"]');
        expect(await page.locator(".tool-name").innerText()).toBe("calculator");
        expect(await page.locator(".tool-result").innerText()).toBe("84");
        expect(await page.locator(".answer").innerText()).toContain("84");
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    }, 40_000);
  }
});
