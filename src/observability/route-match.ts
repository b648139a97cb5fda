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
  private routes: readonly RouteLike[] = [];
  /** Built on the first match, not at start-up: most servers rarely answer before routing. */
  private patterns: Pattern[] | null = null;

  setRoutes(routes: readonly RouteLike[]): void {
    this.routes = routes.map((r) => ({ method: r.method, path: r.path }));
    this.patterns = null;
  }

  match(method: string, pathname: string): string | null {
    this.patterns ??= compile(this.routes);
    for (const p of this.patterns) {
      const methodOk = p.method === method || p.method === "ALL" || (p.method === "WS" && method === "GET");
      if (methodOk && p.re.test(pathname)) return p.template;
    }
    return null;
  }
}

function compile(routes: readonly RouteLike[]): Pattern[] {
  const patterns = routes.map((r) => ({ method: r.method, template: r.path, re: toRegExp(r.path) }));
  // Wildcards last, so a specific template wins.
  patterns.sort((a, b) => Number(a.template.includes("*")) - Number(b.template.includes("*")));
  return patterns;
}

function toRegExp(template: string): RegExp {
  const parts = template.split("/").map((seg) => {
    if (seg === "*") return ".*";
    if (seg.startsWith(":")) return seg.endsWith("?") ? "[^/]*" : "[^/]+";
    return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  });
  return new RegExp(`^${parts.join("/")}/?$`);
}
