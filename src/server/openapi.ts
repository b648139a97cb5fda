import type { Elysia } from "elysia";
import type { OpenAPIV3 } from "openapi-types";
import pkg from "../../package.json" with { type: "json" };
import type { BondRuntime } from "./runtime.ts";

export const OPENAPI_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";

const OPENAPI_VERSION = "3.1.2";
const SCALAR_CDN = "https://cdn.jsdelivr.net/npm/@scalar/api-reference@latest/dist/browser/standalone.min.js";

/** WebSocket routes have no OpenAPI method; the upgrade is described as the GET it starts with. */
const WS_DOC: OpenAPIV3.PathItemObject = {
  get: {
    summary: "WebSocket: start runs and follow their events",
    description:
      "Upgrade to a WebSocket. Client frames: `{prompt, session_id?}`, `{type: \"cancel\"}`, `{type: \"ping\"}`, `{type: \"resume\", session_id, last_event_id?}`. Server frames: run events `{t, i, ...}`, then `{t: \"done\"}`; refusals `{t: \"error\", error, code}`.",
    tags: ["runs"],
    operationId: "websocket",
    responses: { "101": { description: "Switching protocols." }, "401": { description: "Missing or invalid API key." } },
  },
};

const INFO: OpenAPIV3.InfoObject = {
  title: "Bond",
  description: "Runs an LLM agent (model + tools) and streams every step over SSE and WebSocket, with multi-turn sessions.",
  version: pkg.version,
};

/**
 * `GET /openapi.json` (the document, generated from the routes' typebox schemas
 * and `detail` by @elysiajs/openapi's generator) and `GET /docs` (a Scalar page;
 * it loads its script from a CDN, so it needs a browser with internet access,
 * while /openapi.json itself is served locally).
 *
 * Both are built on first request, and the generator and page template are only
 * loaded then: the plugin's entry module (with its type generator) and building
 * its routes cost ~4 ms of every start, for pages a server may never serve.
 */
export function openapiRoutes(runtime: BondRuntime) {
  const authOn = runtime.config.api_keys.length > 0;
  const documentation = {
    info: INFO,
    tags: [
      { name: "runs", description: "Start runs and follow their events." },
      { name: "sessions", description: "Inspect, cancel and delete sessions." },
      { name: "operations", description: "Health and metrics." },
    ],
    paths: { "/ws": WS_DOC },
    ...(authOn
      ? {
          components: { securitySchemes: { bearer: { type: "http" as const, scheme: "bearer" } } },
          security: [{ bearer: [] }],
        }
      : {}),
  };
  // Given the app itself, so the document covers every route, those added after these two included.
  const buildDocument = async (app: Elysia): Promise<OpenAPIV3.Document> => {
    const { toOpenAPISchema } = await import("@elysiajs/openapi/openapi");
    const { paths, components } = toOpenAPISchema(app, { paths: ["/ws"] }, undefined, undefined, OPENAPI_VERSION);
    return {
      ...documentation,
      openapi: OPENAPI_VERSION,
      paths: { ...paths, ...documentation.paths },
      components: { ...documentation.components, schemas: { ...(components.schemas as Record<string, OpenAPIV3.SchemaObject>) } },
    };
  };

  const buildDocsPage = async (): Promise<string> => {
    const { ScalarRender } = await import("@elysiajs/openapi/scalar");
    // A relative URL, so the page also works behind a path prefix.
    return ScalarRender(INFO, { url: OPENAPI_PATH.slice(1), version: "latest", cdn: SCALAR_CDN, _integration: "elysiajs" });
  };

  const docsPage = retriedUntilBuilt(buildDocsPage);
  return (app: Elysia) => {
    const document = retriedUntilBuilt(() => buildDocument(app));
    return app
      .get(OPENAPI_PATH, async () => await document(), { detail: { hide: true } })
      .get(
        DOCS_PATH,
        async () => new Response(await docsPage(), { headers: { "content-type": "text/html; charset=utf8" } }),
        { detail: { hide: true } },
      );
  };
}

/** `build` run on first call and its result kept; a failed build is not kept, so the next call tries again. */
function retriedUntilBuilt<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | null = null;
  return () =>
    (built ??= build().catch((err: unknown) => {
      built = null;
      throw err;
    }));
}
