import type { Elysia } from "elysia";
import { jsonResponse } from "../http-error.ts";
import type { BondRuntime } from "../runtime.ts";
import { ROUTE_DOCS } from "../route-docs.ts";
import pkg from "../../../package.json" with { type: "json" };

export function healthRoutes(runtime: BondRuntime) {
  return (app: Elysia) => app.get("/health", () =>
    jsonResponse(200, {
      status: runtime.shuttingDown ? "shutting_down" : "healthy",
      agent_name: runtime.agent.name,
      model: runtime.agent.model.name,
      version: pkg.version,
      sessions: runtime.sessions.size,
      running_runs: runtime.sessions.runningRuns.size,
      // Public, so a page (the playground) can tell whether to ask for an API key.
      auth: runtime.config.api_keys.length > 0,
    }),
    { detail: ROUTE_DOCS.health },
  );
}
