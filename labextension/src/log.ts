/** A job's log as the panel holds it: lines appended page by page, never twice. */
import type { JobLog, JobLogLine } from './types';

/** The lines kept so far and where the next request starts. */
export interface ILogState {
  lines: JobLogLine[];
  /** Ask the server for lines after this sequence number. */
  after: number;
  /** Lines dropped from the front to stay under the limit. */
  dropped: number;
  /** The job's state at the last answer (null before the first). */
  state: JobLog['state'] | null;
  /** True once the job has ended and every line it wrote has been read. */
  complete: boolean;
}

/** Most lines a panel keeps; older ones are dropped from the front. */
export const MAX_LOG_LINES = 5000;

const FINAL_STATES = ['succeeded', 'failed', 'cancelled', 'interrupted'];

/** The state before the first request. */
export function emptyLog(): ILogState {
  return { lines: [], after: 0, dropped: 0, state: null, complete: false };
}

/** `state` with the new lines of `page` appended (lines at or before `after`
 * are ignored, so a page that arrives twice changes nothing), trimmed to `max`. */
export function appendLog(state: ILogState, page: JobLog, max = MAX_LOG_LINES): ILogState {
  const fresh = page.lines.filter(line => line.seq > state.after);
  let lines = fresh.length ? state.lines.concat(fresh) : state.lines;
  let dropped = state.dropped;
  if (lines.length > max) {
    dropped += lines.length - max;
    lines = lines.slice(lines.length - max);
  }
  const after = fresh.length ? fresh[fresh.length - 1].seq : state.after;
  const final = FINAL_STATES.includes(page.state);
  return {
    lines,
    after,
    dropped,
    state: page.state,
    complete: final && fresh.length === 0 && page.lines.length === 0
  };
}
