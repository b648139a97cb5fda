import { describe, expect, test } from "bun:test";
import { Counter, escapeLabelValue, formatValue, Gauge, Histogram, Registry } from "../../src/observability/prometheus.ts";

describe("prometheus registry", () => {
  test("counters render HELP, TYPE and samples; unlabelled ones start at 0", () => {
    const r = new Registry();
    const plain = r.add(new Counter("x_total", "Plain."));
    const labelled = r.add(new Counter("y_total", "Labelled.", ["a", "b"]));
    expect(r.render()).toBe("# HELP x_total Plain.\n# TYPE x_total counter\nx_total 0\n# HELP y_total Labelled.\n# TYPE y_total counter\n");
    plain.inc();
    plain.inc(2);
    labelled.inc(1, ["p", "q"]);
    labelled.inc(3, ["p", "q"]);
    labelled.touch(["r", "s"]);
    expect(r.render()).toContain("x_total 3\n");
    expect(r.render()).toContain('y_total{a="p",b="q"} 4\ny_total{a="r",b="s"} 0\n');
    expect(labelled.value(["p", "q"])).toBe(4);
  });

  test("counters never go down, and ignore NaN", () => {
    const c = new Counter("c_total", "C.");
    c.inc(5);
    c.inc(-1);
    c.inc(Number.NaN);
    expect(c.value()).toBe(5);
  });

  test("the wrong number of label values throws", () => {
    const c = new Counter("c_total", "C.", ["a"]);
    expect(() => c.inc(1, [])).toThrow();
    expect(() => c.inc(1, ["x", "y"])).toThrow();
  });

  test("label values and help text are escaped", () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const r = new Registry();
    r.add(new Counter("e_total", "line one\nback\\slash", ["v"])).inc(1, ['say "hi"\n']);
    const text = r.render();
    expect(text).toContain("# HELP e_total line one\\nback\\\\slash\n");
    expect(text).toContain('e_total{v="say \\"hi\\"\\n"} 1\n');
  });

  test("gauges read their value at render time", () => {
    let n = 1;
    const r = new Registry();
    r.add(new Gauge("g", "G.", ["t"], () => [[["a"], n], [["b"], n * 2]]));
    expect(r.render()).toContain('g{t="a"} 1\ng{t="b"} 2\n');
    n = 5;
    expect(r.render()).toContain('# TYPE g gauge\ng{t="a"} 5\ng{t="b"} 10\n');
  });

  test("histograms render cumulative buckets, +Inf, sum and count", () => {
    const h = new Histogram("d_seconds", "D.", [1, 0.5, 5]);
    expect(h.buckets).toEqual([0.5, 1, 5]);
    for (const v of [0.1, 0.5, 0.7, 3, 100]) h.observe(v);
    h.observe(Number.NaN);
    const out: string[] = [];
    h.render(out);
    expect(out).toEqual([
      "# HELP d_seconds D.",
      "# TYPE d_seconds histogram",
      'd_seconds_bucket{le="0.5"} 2',
      'd_seconds_bucket{le="1"} 3',
      'd_seconds_bucket{le="5"} 4',
      'd_seconds_bucket{le="+Inf"} 5',
      "d_seconds_sum 104.3",
      "d_seconds_count 5",
    ]);
    expect(h.observations).toBe(5);
  });

  test("bad names and duplicate registrations are refused", () => {
    expect(() => new Counter("bad-name", "x")).toThrow();
    expect(() => new Counter("ok_total", "x", ["le"])).toThrow();
    expect(() => new Counter("ok_total", "x", ["__reserved"])).toThrow();
    expect(() => new Histogram("h", "x", [])).toThrow();
    const r = new Registry();
    r.add(new Counter("dup_total", "x"));
    expect(() => r.add(new Counter("dup_total", "x"))).toThrow();
  });

  test("special values", () => {
    expect(formatValue(Number.NaN)).toBe("NaN");
    expect(formatValue(Infinity)).toBe("+Inf");
    expect(formatValue(-Infinity)).toBe("-Inf");
    expect(formatValue(1.5)).toBe("1.5");
  });
});
