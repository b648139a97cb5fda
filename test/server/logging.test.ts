import { describe, expect, test } from "bun:test";
import { isLogLevel, Logger } from "../../src/server/logging.ts";

function capture(level: ConstructorParameters<typeof Logger>[0]) {
  const lines: string[] = [];
  return { lines, log: new Logger(level, (l) => lines.push(l)) };
}

describe("Logger", () => {
  test("one JSON object per line with time, level, msg and the fields", () => {
    const { lines, log } = capture("debug");
    log.info("request", { request_id: "r1", status: 200, session_id: undefined, cost: null });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toEqual({ time: expect.any(String), level: "info", msg: "request", request_id: "r1", status: 200, cost: null });
    expect(new Date(entry.time as string).toISOString()).toBe(entry.time as string);
  });

  test("levels below the threshold are dropped; silent drops everything", () => {
    const warn = capture("warn");
    warn.log.debug("a");
    warn.log.info("b");
    warn.log.warn("c");
    warn.log.error("d");
    expect(warn.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["c", "d"]);
    expect(warn.log.enabled("info")).toBe(false);
    expect(warn.log.enabled("error")).toBe(true);

    const silent = capture("silent");
    silent.log.error("x");
    expect(silent.lines).toEqual([]);
  });

  test("field values with newlines or quotes stay on one line", () => {
    const { lines, log } = capture("info");
    log.info("m", { note: 'a\nb"c' });
    expect(lines[0]!.split("\n")).toHaveLength(1);
    expect((JSON.parse(lines[0]!) as { note: string }).note).toBe('a\nb"c');
  });

  test("a failing sink never throws into the caller", () => {
    const log = new Logger("info", () => {
      throw new Error("stdout closed");
    });
    expect(() => log.info("m")).not.toThrow();
  });

  test("isLogLevel", () => {
    for (const l of ["debug", "info", "warn", "error", "silent"]) expect(isLogLevel(l)).toBe(true);
    for (const l of ["", "INFO", "trace", "verbose"]) expect(isLogLevel(l)).toBe(false);
  });
});
