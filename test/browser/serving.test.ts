/**
 * How the playground is served (no browser needed): content types, caching, CSP, public paths,
 * the off switch, and that every served module links to served modules only.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ASSET_PATHS, buildAssets, relativeUrl, servedName } from "../../src/web/assets.ts";
import { PAGE_SOURCES } from "../../src/web/sources.ts";
import { PLAYGROUND_CSP } from "../../src/server/routes/playground.ts";
import { getJson, startServer, type TestServer } from "../helpers/server.ts";

const REPO = join(import.meta.dir, "..", "..");

describe("playground assets", () => {
  test("every file of the page and of the client SDK is embedded", () => {
    const listed = new Set(PAGE_SOURCES.map((s) => s.path));
    const onDisk = [
      ...readdirSync(join(REPO, "src/client")).map((f) => `src/client/${f}`),
      ...readdirSync(join(REPO, "src/web/page")).filter((f) => f !== "index.html").map((f) => `src/web/page/${f}`),
    ];
    expect(onDisk.filter((p) => !listed.has(p))).toEqual([]);
    expect(PAGE_SOURCES[0]!.path).toBe("src/web/page/main.ts");
  });

  test("served names and relative links", () => {
    expect(servedName("src/web/page/main.ts")).toBe("main.js");
    expect(servedName("src/web/page/style.css")).toBe("style.css");
    expect(servedName("src/client/run.ts")).toBe("client/run.js");
    expect(() => servedName("src/server/app.ts")).toThrow("outside");
    expect(relativeUrl("main.js", "client/index.js")).toBe("./client/index.js");
    expect(relativeUrl("client/run.js", "client/errors.js")).toBe("./errors.js");
    expect(relativeUrl("client/run.js", "dom.js")).toBe("../dom.js");
  });

  test("modules are plain JS importing only served .js files", () => {
    const { files, page } = buildAssets();
    expect([...files.keys()].sort()).toEqual([...ASSET_PATHS].sort());
    const transpiler = new Bun.Transpiler({ loader: "js" });
    for (const [path, asset] of files) {
      if (!path.endsWith(".js")) continue;
      // Parses as JavaScript (no TypeScript left) and imports nothing but served siblings.
      for (const imp of transpiler.scanImports(asset.body)) {
        expect(imp.path).toMatch(/^\.\.?\/[a-z/-]+\.js$/);
        const target = new URL(imp.path, `http://x${path}`).pathname;
        expect(files.has(target)).toBe(true);
      }
      expect(asset.body).not.toContain("agent/events");
    }
    // The page: no inline script or style, no inline handlers (the CSP would block them anyway).
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.body).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    expect(page.body).not.toContain("%ASSETS%");
    expect(page.body).not.toContain("%PRELOAD%");
  });
});

describe("playground routes", () => {
  let server: TestServer;
  let page: Response;
  let html: string;

  beforeAll(async () => {
    server = startServer();
    page = await fetch(`${server.url}/`);
    html = await page.text();
  });
  afterAll(() => server.stop());

  const assetUrls = (): string[] => [...html.matchAll(/(?:href|src)="(playground\/[^"]+)"/g)].map((m) => `${server.url}/${m[1]}`);

  test("the page: HTML, revalidated every time, with a strict CSP", () => {
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("etag")).toMatch(/^"[0-9a-z]+"$/);
    expect(page.headers.get("content-security-policy")).toBe(PLAYGROUND_CSP);
    expect(PLAYGROUND_CSP).toContain("script-src 'self'");
    expect(PLAYGROUND_CSP).toContain("connect-src 'self'");
    expect(PLAYGROUND_CSP).not.toContain("unsafe");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("vary")).toBe("Origin");
    expect(html).toContain('<script type="module" src="playground/');
  });

  test("a matching If-None-Match gets 304 with no body", async () => {
    const etag = page.headers.get("etag")!;
    for (const header of [etag, `W/${etag}`, `"nope", ${etag}`, "*"]) {
      const res = await fetch(`${server.url}/`, { headers: { "if-none-match": header } });
      expect(res.status).toBe(304);
      expect(await res.text()).toBe("");
      expect(res.headers.get("etag")).toBe(etag);
    }
    expect((await fetch(`${server.url}/`, { headers: { "if-none-match": '"other"' } })).status).toBe(200);
  });

  test("assets: right types, cached for good under a versioned URL, with ETags", async () => {
    const urls = assetUrls();
    expect(urls.length).toBeGreaterThan(10);
    for (const url of urls) {
      const res = await fetch(url);
      expect([url, res.status]).toEqual([url, 200]);
      expect(res.headers.get("content-type")).toBe(url.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      const etag = res.headers.get("etag")!;
      expect(etag).toMatch(/^"[0-9a-z]+"$/);
      await res.arrayBuffer();
      expect((await fetch(url, { headers: { "if-none-match": etag } })).status).toBe(304);
    }
  });

  test("unknown files under /playground/ are the API's JSON 404", async () => {
    const version = /playground\/([0-9a-z]+)\//.exec(html)![1];
    for (const path of [`/playground/${version}/nope.js`, "/playground/0/main.js", "/playground/", "/index.html"]) {
      const { status, json } = await getJson(`${server.url}${path}`);
      expect([path, status, json]).toEqual([path, 404, { error: "Not found" }]);
    }
  });

  test("/health says auth is off", async () => {
    expect((await getJson(`${server.url}/health`)).json.auth).toBe(false);
  });
});

describe("playground switched off, or behind auth", () => {
  test("playground: false — / is a JSON 404, and so are the assets", async () => {
    const server = startServer({ playground: false });
    try {
      const res = await fetch(`${server.url}/`);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toStartWith("application/json");
      expect(await res.json()).toEqual({ error: "Not found" });
      expect((await fetch(`${server.url}${ASSET_PATHS[0]}`)).status).toBe(404);
      expect((await getJson(`${server.url}/health`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("with API keys, the page and its files stay public; the API and other paths do not", async () => {
    const server = startServer({ api_keys: ["k1"] });
    try {
      expect((await fetch(`${server.url}/`)).status).toBe(200);
      for (const path of ASSET_PATHS) expect([path, (await fetch(`${server.url}${path}`)).status]).toEqual([path, 200]);
      expect((await getJson(`${server.url}/health`)).json.auth).toBe(true);
      // Exact paths only: nothing else under /playground/ is let through.
      const version = ASSET_PATHS[0]!.split("/")[2];
      for (const path of [`/playground/${version}/x.js`, "/playground/", "/sessions/x"]) {
        expect([path, (await fetch(`${server.url}${path}`)).status]).toEqual([path, 401]);
      }
      const ask = await fetch(`${server.url}/ask`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"prompt":"hi"}' });
      expect(ask.status).toBe(401);
    } finally {
      await server.stop();
    }
  });
});
