import type { AgentEvent } from "../agent/events.ts";

/**
 * What a run log stores per event: the event, a text delta as its bare content string, or,
 * once the log is packed, a delta as a number locating it in the log's packed text.
 */
export type StoredEntry = AgentEvent | string | number;

/** A packed delta is start · 2^21 + length (negated minus one for thinking): exact in a double while start < 2^31. */
const LENGTH_SPAN = 2 ** 21;
const MAX_START = 2 ** 31;

/**
 * Packs a finished log's text and thinking deltas, in place: their contents become one string,
 * returned, and each delta's entry a number saying where its content lies in it.
 *
 * Why: a finished run's log lives as long as its session (an hour by default), and a real
 * model's deltas are each a string of their own (a thinking delta an object too): hundreds of
 * cells per session for every full garbage collection to visit. Numbers are not cells. When the
 * deltas spell out the answer exactly (one text block, the common case), the answer's own
 * string is shared: packing then keeps no new string at all.
 *
 * Returns null (nothing changed) when the text is too long to address.
 */
export function packDeltas(entries: StoredEntry[]): string | null {
  const text = answerSpelledOut(entries) ?? joinDeltas(entries);
  if (text.length >= MAX_START) return null;
  let start = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const content = deltaContent(e);
    if (content === null) continue;
    const length = content.length;
    // An empty delta, or one too long to encode, stays as it is (its share of the text is then unused).
    if (length > 0 && length < LENGTH_SPAN) {
      const code = start * LENGTH_SPAN + length;
      entries[i] = typeof e === "string" ? code : -code - 1;
    }
    start += length;
  }
  return text;
}

/** The answer's own string when the text deltas spell exactly it and there is no thinking: checked piece by piece, nothing allocated. */
function answerSpelledOut(entries: readonly StoredEntry[]): string | null {
  const last = entries[entries.length - 1];
  if (typeof last !== "object" || last.type !== "complete") return null;
  const answer = last.data;
  let at = 0;
  for (const e of entries) {
    if (typeof e === "string") {
      if (!answer.startsWith(e, at)) return null;
      at += e.length;
    } else if (typeof e === "object" && e.type === "thinking") return null;
  }
  return at === answer.length ? answer : null;
}

/** Every text and thinking delta's content, in log order, as one string. */
function joinDeltas(entries: readonly StoredEntry[]): string {
  const parts: string[] = [];
  for (const e of entries) {
    const content = deltaContent(e);
    if (content !== null) parts.push(content);
  }
  return parts.join("");
}

/** The content of a text or thinking delta not yet packed; null for anything else. */
function deltaContent(e: StoredEntry): string | null {
  if (typeof e === "string") return e;
  return typeof e === "object" && e.type === "thinking" ? e.content : null;
}

/** The delta a packed entry stands for: a text delta as its bare content, a thinking delta as its event. */
export function unpackDelta(text: string, code: number): AgentEvent | string {
  const thinking = code < 0;
  const c = thinking ? -code - 1 : code;
  const length = c % LENGTH_SPAN;
  const start = (c - length) / LENGTH_SPAN;
  const content = text.slice(start, start + length);
  return thinking ? { type: "thinking", content } : content;
}
