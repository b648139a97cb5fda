import type { Run } from "../sessions/run.ts";
import type { Session } from "../sessions/session.ts";

export type ResumePoint =
  | { kind: "follow"; run: Run; cursor: number }
  | { kind: "nothing-left" }
  | { kind: "invalid"; message: string };

const EVENT_ID = /^(\d{1,9}):(\d{1,9})$/;

/**
 * Where a (re)connecting subscriber starts in the session's latest run
 * (API.md §2): after `lastEventId`, or from the start for none or an older run.
 */
export function resumePoint(session: Session, lastEventId: string | null): ResumePoint {
  const run = session.latestRun;
  if (lastEventId === null || lastEventId === "") {
    return run ? { kind: "follow", run, cursor: 0 } : { kind: "nothing-left" };
  }
  const match = EVENT_ID.exec(lastEventId);
  if (!match) return { kind: "invalid", message: `Malformed event id "${lastEventId.slice(0, 40)}": expected "<run>:<seq>".` };
  const runNumber = Number(match[1]);
  const seq = Number(match[2]);
  if (!run || runNumber > run.number || (runNumber === run.number && seq > run.log.length)) {
    return { kind: "invalid", message: `Event id ${lastEventId} is past the end of this session's log.` };
  }
  if (runNumber < run.number) return { kind: "follow", run, cursor: 0 };
  if (seq === run.log.length && run.log.isEnded) return { kind: "nothing-left" };
  return { kind: "follow", run, cursor: seq };
}
