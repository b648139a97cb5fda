/**
 * Turns the embedded sources (sources.ts) into what the playground serves: the page, its
 * stylesheet, and ES modules transpiled from TypeScript once, on first use — no build step.
 *
 * URLs: the page is `/`; everything else lives under `/playground/<version>/`, where the version
 * is a hash of every source, so those files can be cached for good. Every URL the page uses is
 * relative, so the playground also works behind a path prefix.
 */
import { PAGE_HTML, PAGE_SOURCES, type SourceFile } from "./sources.ts";

export interface Asset {
  readonly body: string;
  readonly contentType: string;
  /** A strong validator of the body, quoted as the ETag header wants it. */
  readonly etag: string;
}

export interface PlaygroundAssets {
  /** Served at `/`. */
  readonly page: Asset;
  /** By URL path, e.g. "/playground/<version>/client/run.js". */
  readonly files: ReadonlyMap<string, Asset>;
}

const PAGE_DIR = "src/web/page/";
const CLIENT_DIR = "src/client/";
const ENTRY = "main.js";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  html: "text/html; charset=utf-8",
};

/** Where a source is served, relative to the version directory: page files at its root, the SDK under client/. */
export function servedName(sourcePath: string): string {
  let rest: string;
  if (sourcePath.startsWith(PAGE_DIR)) rest = sourcePath.slice(PAGE_DIR.length);
  else if (sourcePath.startsWith(CLIENT_DIR)) rest = `client/${sourcePath.slice(CLIENT_DIR.length)}`;
  else throw new Error(`playground: ${sourcePath} is outside ${PAGE_DIR} and ${CLIENT_DIR}`);
  return rest.replace(/\.ts$/, ".js");
}

function hash(text: string): string {
  return Bun.hash(text).toString(36);
}

/** Changes whenever any source does, or the Bun whose transpiler produces the JS. */
export const ASSET_VERSION: string = hash(
  [Bun.version, PAGE_HTML.text, ...PAGE_SOURCES.map((s) => `${s.path}\n${s.text}`)].join("\0"),
);

const ASSET_DIR = `playground/${ASSET_VERSION}`;

/** The URL path of every file under the version directory (known without transpiling anything). */
export const ASSET_PATHS: readonly string[] = PAGE_SOURCES.map((s) => `/${ASSET_DIR}/${servedName(s.path)}`);

function asset(body: string, type: string): Asset {
  return { body, contentType: CONTENT_TYPES[type]!, etag: `"${hash(body)}"` };
}

/** A relative URL from one served file to another, e.g. ("main.js", "client/index.js") → "./client/index.js". */
export function relativeUrl(from: string, to: string): string {
  const fromDir = from.split("/").slice(0, -1);
  const toParts = to.split("/");
  let common = 0;
  while (common < fromDir.length && common < toParts.length - 1 && fromDir[common] === toParts[common]) common++;
  const up = fromDir.length - common;
  return (up === 0 ? "./" : "../".repeat(up)) + toParts.slice(common).join("/");
}

/** The string of every static import / export-from / dynamic import in transpiled JS. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'\n]+)\2/g;

/** Points a module's `./x.ts` imports at the served `.js` files, relative to where it is served. */
function rewriteImports(js: string, source: SourceFile, served: ReadonlySet<string>): string {
  const from = servedName(source.path);
  return js.replace(SPECIFIER, (_match, lead: string, quote: string, specifier: string) => {
    if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
      throw new Error(`playground: ${source.path} imports "${specifier}", which a browser cannot load`);
    }
    const target = new URL(specifier, `file:///${source.path}`).pathname.slice(1);
    const name = target.startsWith(PAGE_DIR) || target.startsWith(CLIENT_DIR) ? servedName(target) : null;
    if (name === null || !served.has(name)) {
      throw new Error(`playground: ${source.path} imports ${target}, which is not served (add it to src/web/sources.ts)`);
    }
    return `${lead}${quote}${relativeUrl(from, name)}${quote}`;
  });
}

/** Fails if a module still imports anything that is not a served file (a specifier the rewrite missed). */
function checkImports(js: string, name: string, served: ReadonlySet<string>, scanner: Bun.Transpiler): void {
  for (const { path } of scanner.scanImports(js)) {
    const target = new URL(path, `file:///${name}`).pathname.slice(1);
    if (!served.has(target)) throw new Error(`playground: ${name} imports "${path}", which is not served`);
  }
}

/** Transpiles and links everything; throws on any import the browser could not resolve. */
export function buildAssets(): PlaygroundAssets {
  const transpiler = new Bun.Transpiler({ loader: "ts", target: "browser" });
  const scanner = new Bun.Transpiler({ loader: "js", target: "browser" });
  const served = new Set(PAGE_SOURCES.map((s) => servedName(s.path)));
  const files = new Map<string, Asset>();
  const modules: string[] = [];
  for (const source of PAGE_SOURCES) {
    const name = servedName(source.path);
    if (name.endsWith(".css")) {
      files.set(`/${ASSET_DIR}/${name}`, asset(source.text, "css"));
      continue;
    }
    const js = rewriteImports(transpiler.transformSync(source.text), source, served);
    checkImports(js, name, served, scanner);
    files.set(`/${ASSET_DIR}/${name}`, asset(js, "js"));
    // types.ts and the like transpile to nothing and are never imported: no need to preload them.
    if (name !== ENTRY && js.trim() !== "") modules.push(name);
  }
  // Preloading the whole module graph saves the browser discovering it one import level at a time.
  const preload = modules.map((m) => `<link rel="modulepreload" href="${ASSET_DIR}/${m}">`).join("\n    ");
  const html = PAGE_HTML.text.replaceAll("%ASSETS%", ASSET_DIR).replace("<!-- %PRELOAD% -->", preload);
  return { page: asset(html, "html"), files };
}
