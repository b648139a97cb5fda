import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { HttpObserver } from "../../src/observability/http.ts";
import { BondMetrics } from "../../src/server/metrics.ts";
import { Logger } from "../../src/server/logging.ts";
import { parseExposition, value } from "../helpers/prometheus.ts";

/** A bare Elysia app wired like createBondServer, with hooks of both kinds (sync and async). */
function appWith(asyncHooks: boolean) {
  const lines: Record<string, unknown>[] = [];
  const metrics = new BondMetrics({ version: "t", model: "m", agent: "a" }, () => ({ sessions: 0, runningRuns: 0, sseSubscribers: 0, wsSubscribers: 0, wsConnections: 0 }));
  const http = new HttpObserver(metrics, new Logger("info", (l) => lines.push(JSON.parse(l) as Record<string, unknown>)));
  const deny = (request: Request) => (new URL(request.url).pathname === "/private" ? new Response("no", { status: 401 }) : undefined);
  const app = new Elysia()
    .use(http.plugin())
    .onRequest(asyncHooks ? async ({ request }) => http.early(request, deny(request)) : ({ request }) => http.early(request, deny(request)))
    .onError(
      asyncHooks
        ? async ({ code, request }) => http.errored(request, code === "NOT_FOUND" ? new Response("nf", { status: 404 }) : new Response("err", { status: 503 }))
        : ({ code, request }) => http.errored(request, code === "NOT_FOUND" ? new Response("nf", { status: 404 }) : new Response("err", { status: 503 })),
    )
    .get("/private", () => "never")
    .get("/item/:id", ({ params }) => new Response(params.id, { status: 203 }))
    .get("/boom", () => {
      throw new Error("boom");
    })
    .listen({ hostname: "127.0.0.1", port: 0 });
  return { app, lines, metrics, base: `http://127.0.0.1:${app.server!.port}` };
}

for (const asyncHooks of [false, true]) {
  describe(`HttpObserver with ${asyncHooks ? "async" : "sync"} hooks`, () => {
    test("every answer gets an id, one log line and one sample with its real status and route", async () => {
      const { app, lines, metrics, base } = appWith(asyncHooks);
      try {
        const cases: [string, number, string][] = [
          ["/private", 401, "/private"],
          ["/item/42", 203, "/item/:id"],
          ["/boom", 503, "/boom"],
          ["/missing", 404, "unmatched"],
        ];
        for (const [path, status] of cases) {
          const res = await fetch(`${base}${path}`, { headers: { "x-request-id": `id${path}` } });
          await res.text();
          expect([path, res.status, res.headers.get("x-request-id")]).toEqual([path, status, `id${path}`]);
        }
        const deadline = Date.now() + 2000;
        while (lines.length < cases.length && Date.now() < deadline) await Bun.sleep(5);
        await Bun.sleep(20);
        expect(lines.map((l) => [l.request_id, l.status, l.route])).toEqual(cases.map(([p, s, r]) => [`id${p}`, s, r]));
        const exp = parseExposition(metrics.render());
        for (const [, status, route] of cases) expect(value(exp, "bond_http_requests_total", { method: "GET", route, status: String(status) })).toBe(1);
      } finally {
        await app.stop(true);
      }
    });
  });
}
