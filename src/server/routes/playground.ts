/**
 * The web playground: the page at `/` and its files under `/playground/<version>/` (see
 * src/web/assets.ts). Public — the page holds no secrets; the API key is typed into it.
 * Off with `playground: false` (BOND_PLAYGROUND / --playground), and then `/` is the API's JSON 404.
 */
import { type Elysia, NotFoundError } from "elysia";
import type { Asset, PlaygroundAssets } from "../../web/assets.ts";

type AssetsModule = typeof import("../../web/assets.ts");
let assetsModule: AssetsModule | null = null;

/**
 * The playground's sources and their version hash, loaded on first use: evaluating them at start-up
 * cost ~1 ms of every start. `require` (not `import()`): the public-path check must stay synchronous.
 */
function web(): AssetsModule {
  assetsModule ??= require("../../web/assets.ts") as AssetsModule;
  return assetsModule;
}

/** Scripts, styles and connections (fetch, EventSource, WebSocket) only from this origin; no inline code. */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

// The CORS plugin sends `Vary: *` with `origin: "*"`, which makes browsers skip their cache; these
// files differ at most by the CORS headers, which depend on Origin alone.
const VARY = "Origin";

const PAGE_HEADERS: Readonly<Record<string, string>> = {
  vary: VARY,
  // Revalidate every time (a 304 is cheap): the page names the current asset version.
  "cache-control": "no-cache",
  "content-security-policy": PLAYGROUND_CSP,
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

const ASSET_HEADERS: Readonly<Record<string, string>> = {
  vary: VARY,
  // The URL carries a hash of every source, so a file at a given URL never changes.
  "cache-control": "public, max-age=31536000, immutable",
};

/** `If-None-Match` lists ETags (maybe weak, maybe `*`); any match means the client's copy is current. */
function notModified(request: Request, etag: string): boolean {
  const header = request.headers.get("if-none-match");
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t.replace(/^W\//, "") === etag;
  });
}

function serve(asset: Asset, request: Request, headers: Readonly<Record<string, string>>): Response {
  if (notModified(request, asset.etag)) return new Response(null, { status: 304, headers: { etag: asset.etag, ...headers } });
  return new Response(asset.body, { headers: { "content-type": asset.contentType, etag: asset.etag, ...headers } });
}

export class Playground {
  private paths: ReadonlySet<string> | null = null;
  private built: PlaygroundAssets | null = null;

  /** Exact paths the playground answers, all public (never a prefix: TRAPS #18). */
  get publicPaths(): ReadonlySet<string> {
    this.paths ??= new Set(["/", ...web().ASSET_PATHS]);
    return this.paths;
  }

  /** Transpiled on first request, not at start-up: the server starts as fast without it. */
  private get assets(): PlaygroundAssets {
    this.built ??= web().buildAssets();
    return this.built;
  }

  routes() {
    // The files share one wildcard route: a route per file cost ~2 ms of every start (Elysia builds
    // each one). It covers every version (naming the current one would load the sources at start);
    // only exact asset paths are public (publicPaths); any other path under it is the API's 404.
    return (app: Elysia) => app
      .get("/", ({ request }) => serve(this.assets.page, request, PAGE_HEADERS))
      .get("/playground/*", ({ request, path }) => {
        const asset = this.assets.files.get(path);
        if (!asset) throw new NotFoundError();
        return serve(asset, request, ASSET_HEADERS);
      });
  }
}
