import type { Elysia } from "elysia";
import { PROMETHEUS_CONTENT_TYPE } from "../../observability/prometheus.ts";
import type { BondMetrics } from "../metrics.ts";
import { ROUTE_DOCS } from "../route-docs.ts";

/** GET /metrics: Prometheus text format. Not public: it needs a key when keys are configured. */
export function metricsRoutes(metrics: BondMetrics) {
  return (app: Elysia) => app.get(
    "/metrics",
    () =>
      new Response(metrics.render(), {
        status: 200,
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
      }),
    { detail: ROUTE_DOCS.metrics },
  );
}
