import { describe, expect, test } from "bun:test";
import { SseParser, type SseMessage } from "../../src/client/sse-parser.ts";

const enc = new TextEncoder();

/** Feed `bytes` in pieces cut at `cuts` and collect every message. */
function parseInPieces(bytes: Uint8Array, cuts: number[]): SseMessage[] {
  const parser = new SseParser();
  const out: SseMessage[] = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...parser.push(bytes.subarray(prev, cut)));
    prev = cut;
  }
  out.push(...parser.end());
  return out;
}

describe("SseParser", () => {
  test("parses id / event / data frames", () => {
    const p = new SseParser();
    const msgs = p.push('id: 1:1\nevent: text\ndata: {"content":"hi"}\n\n');
    expect(msgs).toEqual([{ id: "1:1", event: "text", data: '{"content":"hi"}' }]);
  });

  test("a frame split at every possible byte gives the same messages, including multi-byte UTF-8", () => {
    const text = 'retry: 1000\n\nid: 1:1\nevent: text\ndata: {"content":"héllo — 日本 🎉"}\n\n: ping\n\nid: 1:2\nevent: complete\ndata: {"data":"ok"}\n\n';
    const bytes = enc.encode(text);
    const whole = parseInPieces(bytes, []);
    expect(whole.map((m) => m.data)).toEqual(['{"content":"héllo — 日本 🎉"}', '{"data":"ok"}']);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(parseInPieces(bytes, [cut])).toEqual(whole);
    }
    // one byte at a time: every multi-byte character is split
    expect(parseInPieces(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))).toEqual(whole);
  });

  test("CRLF, lone CR and LF line ends, with CRLF split across chunks", () => {
    const crlf = enc.encode("id: 1:1\r\nevent: text\r\ndata: a\r\n\r\n");
    const expected = [{ id: "1:1", event: "text", data: "a" }];
    for (let cut = 1; cut < crlf.length; cut++) expect(parseInPieces(crlf, [cut])).toEqual(expected);
    expect(parseInPieces(enc.encode("id: 1:1\revent: text\rdata: a\r\r"), [])).toEqual(expected);
  });

  test("comments and retry are not data; retry is recorded", () => {
    const p = new SseParser();
    expect(p.push(": ping\n\nretry: 250\n\n: another\n")).toEqual([]);
    expect(p.retry).toBe(250);
    p.push("retry: soon\n\n"); // not digits: ignored
    expect(p.retry).toBe(250);
  });

  test("multi-line data joins with \\n; one leading space is stripped; field without colon", () => {
    const p = new SseParser();
    expect(p.push("data:  two spaces\ndata\ndata:x\n\n")).toEqual([{ id: undefined, event: "message", data: " two spaces\n\nx" }]);
  });

  test("the id persists across frames; a frame with no data is not dispatched", () => {
    const p = new SseParser();
    expect(p.push("id: 7\n\nevent: text\ndata: a\n\n")).toEqual([{ id: "7", event: "text", data: "a" }]);
  });

  test("an unterminated frame at the end of the stream is discarded", () => {
    const p = new SseParser();
    expect(p.push('id: 1:1\nevent: text\ndata: {"content":"a"}\n')).toEqual([]);
    expect(p.end()).toEqual([]);
  });

  test("a leading BOM is ignored", () => {
    expect(parseInPieces(new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode("data: a\n\n")]), [1])).toEqual([
      { id: undefined, event: "message", data: "a" },
    ]);
  });
});
