/** A registered route as Elysia lists it in `app.routes`. */
export interface RouteLike {
  readonly method: string;
  readonly path: string;
}

interface Pattern {
  readonly method: string;
  readonly template: string;
  readonly re: RegExp;
}

/**
 * Finds the route template (`/stream/:session_id`) a request belongs to, for
 * requests answered before Elysia routed them (an early 401). Metric labels
 * must be templates: raw paths would make one time series per session.
 */
export class RouteMatcher {
  private patterns: Pattern[] = [];

  setRoutes(routes: readonly RouteLike[]): void {
    const patterns = routes.map((r) => ({ method: r.method, template: r.path, re: toRegExp(r.path) }));
    // Wildcards last, so a specific template wins.
    patterns.sort((a, b) => Number(a.template.includes("*")) - Number(b.template.includes("*")));
    this.patterns = patterns;
  }

  match(method: string, pathname: string): string | null {
    for (const p of this.patterns) {
      const methodOk = p.method === method || p.method === "ALL" || (p.method === "WS" && method === "GET");
      if (methodOk && p.re.test(pathname)) return p.template;
    }
    return null;
  }
}

function toRegExp(template: string): RegExp {
  const parts = template.split("/").map((seg) => {
    if (seg === "*") return ".*";
    if (seg.startsWith(":")) return seg.endsWith("?") ? "[^/]*" : "[^/]+";
    return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  });
  return new RegExp(`^${parts.join("/")}/?$`);
}
