/**
 * Every file the playground serves, imported as TEXT so `bun build --compile` embeds them: the
 * binary needs no files on disk and no build step. TypeScript sources are transpiled at run time
 * (assets.ts). Nothing on the server imports these modules as code — a file imported both as text
 * and as code breaks the compiled binary ("No matching export").
 *
 * Adding a file to src/client/ or src/web/page/ means adding it here; test/browser/assets.test.ts
 * fails until it is.
 */
import pageHtml from "./page/index.html" with { type: "text" };
import pageCss from "./page/style.css" with { type: "text" };
import * as pageMain from "./page/main.ts" with { type: "text" };
import * as pageChat from "./page/chat.ts" with { type: "text" };
import * as pageTurnView from "./page/turn-view.ts" with { type: "text" };
import * as pageStore from "./page/store.ts" with { type: "text" };
import * as pageFormat from "./page/format.ts" with { type: "text" };
import * as pageDom from "./page/dom.ts" with { type: "text" };
import * as clientIndex from "../client/index.ts" with { type: "text" };
import * as clientAccumulator from "../client/accumulator.ts" with { type: "text" };
import * as clientBackoff from "../client/backoff.ts" with { type: "text" };
import * as clientClient from "../client/client.ts" with { type: "text" };
import * as clientDecode from "../client/decode.ts" with { type: "text" };
import * as clientErrors from "../client/errors.ts" with { type: "text" };
import * as clientEventCursor from "../client/event-cursor.ts" with { type: "text" };
import * as clientHttp from "../client/http.ts" with { type: "text" };
import * as clientRunHandle from "../client/run-handle.ts" with { type: "text" };
import * as clientRun from "../client/run.ts" with { type: "text" };
import * as clientSseParser from "../client/sse-parser.ts" with { type: "text" };
import * as clientSseTransport from "../client/sse-transport.ts" with { type: "text" };
import * as clientTypes from "../client/types.ts" with { type: "text" };
import * as clientWatchdog from "../client/watchdog.ts" with { type: "text" };
import * as clientWsSocket from "../client/ws-socket.ts" with { type: "text" };
import * as clientWsTransport from "../client/ws-transport.ts" with { type: "text" };

export interface SourceFile {
  /** Repository path, e.g. "src/client/run.ts"; relative imports in the file resolve against it. */
  readonly path: string;
  readonly text: string;
}

/**
 * A text import's string. TypeScript types these imports as the module itself (or bun-types'
 * HTMLBundle), so check at run time that the bundler really delivered text.
 */
function textOf(imported: unknown, path: string): SourceFile {
  const text = typeof imported === "string" ? imported : Reflect.get(Object(imported), "default");
  if (typeof text !== "string") throw new Error(`playground: ${path} was not imported as text`);
  return { path, text };
}

/** The page's HTML template (see assets.ts for its placeholders). */
export const PAGE_HTML: SourceFile = textOf(pageHtml, "src/web/page/index.html");

/** The stylesheet and every ES module the page loads, the page's entry `main.ts` first. */
export const PAGE_SOURCES: readonly SourceFile[] = [
  textOf(pageMain, "src/web/page/main.ts"),
  textOf(pageCss, "src/web/page/style.css"),
  textOf(pageChat, "src/web/page/chat.ts"),
  textOf(pageTurnView, "src/web/page/turn-view.ts"),
  textOf(pageStore, "src/web/page/store.ts"),
  textOf(pageFormat, "src/web/page/format.ts"),
  textOf(pageDom, "src/web/page/dom.ts"),
  textOf(clientIndex, "src/client/index.ts"),
  textOf(clientAccumulator, "src/client/accumulator.ts"),
  textOf(clientBackoff, "src/client/backoff.ts"),
  textOf(clientClient, "src/client/client.ts"),
  textOf(clientDecode, "src/client/decode.ts"),
  textOf(clientErrors, "src/client/errors.ts"),
  textOf(clientEventCursor, "src/client/event-cursor.ts"),
  textOf(clientHttp, "src/client/http.ts"),
  textOf(clientRunHandle, "src/client/run-handle.ts"),
  textOf(clientRun, "src/client/run.ts"),
  textOf(clientSseParser, "src/client/sse-parser.ts"),
  textOf(clientSseTransport, "src/client/sse-transport.ts"),
  textOf(clientTypes, "src/client/types.ts"),
  textOf(clientWatchdog, "src/client/watchdog.ts"),
  textOf(clientWsSocket, "src/client/ws-socket.ts"),
  textOf(clientWsTransport, "src/client/ws-transport.ts"),
];
