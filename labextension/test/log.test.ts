import { appendLog, emptyLog } from '../src/log';
import type { JobLog } from '../src/types';

function page(state: JobLog['state'], seqs: number[]): JobLog {
  return {
    job_id: 1,
    state,
    lines: seqs.map(seq => ({
      seq,
      at: '2026-01-01T00:00:00+00:00',
      stream: 'stdout',
      line: `line ${seq}`
    })),
    next_after: seqs.length ? seqs[seqs.length - 1] : 0,
    log_count: seqs.length
  };
}

describe('appendLog', () => {
  it('appends new lines and moves `after` to the last one', () => {
    let log = appendLog(emptyLog(), page('running', [1, 2, 3]));
    expect(log.lines.map(l => l.seq)).toEqual([1, 2, 3]);
    expect(log.after).toBe(3);
    log = appendLog(log, page('running', [4, 5]));
    expect(log.lines.map(l => l.line)).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    expect([log.after, log.state, log.complete]).toEqual([5, 'running', false]);
  });

  it('ignores lines already held, so a repeated page changes nothing', () => {
    const once = appendLog(emptyLog(), page('running', [10, 11]));
    const twice = appendLog(once, page('running', [10, 11]));
    expect(twice.lines).toBe(once.lines);
    expect(twice.after).toBe(11);
    const overlap = appendLog(once, page('running', [11, 12]));
    expect(overlap.lines.map(l => l.seq)).toEqual([10, 11, 12]);
  });

  it('keeps at most `max` lines, counting the dropped ones', () => {
    let log = appendLog(emptyLog(), page('running', [1, 2, 3, 4]), 3);
    expect(log.lines.map(l => l.seq)).toEqual([2, 3, 4]);
    log = appendLog(log, page('running', [5, 6]), 3);
    expect(log.lines.map(l => l.seq)).toEqual([4, 5, 6]);
    expect(log.dropped).toBe(3);
  });

  it('is complete once the job ended and an answer brought no more lines', () => {
    let log = appendLog(emptyLog(), page('succeeded', [1, 2]));
    expect(log.complete).toBe(false);
    log = appendLog(log, page('succeeded', []));
    expect(log.complete).toBe(true);
    expect(appendLog(emptyLog(), page('running', [])).complete).toBe(false);
  });
});
