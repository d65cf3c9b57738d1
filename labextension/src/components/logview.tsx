/** A live log: `<path>?after=N` polled while shown and the job runs, new lines appended. */
import React, { useEffect, useRef, useState } from 'react';

import { IMLOpsContext } from '../context';
import { usePolled } from '../hooks';
import { appendLog, emptyLog, ILogState } from '../log';
import type { JobLog } from '../types';

/** Props of `LogView`. */
export interface ILogViewProps {
  context: IMLOpsContext;
  /** The log endpoint: `jobs/{id}/log` or `builds/{id}/log`. */
  path: string;
  /** Poll only while true (the tab's `active`). */
  active: boolean;
}

/** The stream of a failed job's traceback: shown folded, after the job's own lines (the
 * job's one-line error says what went wrong). */
export const TRACE = 'trace';

/** How often a running job's log is asked for new lines. */
export const LOG_INTERVAL = 1000;

/** The lines of one job's log, following it until the job ends (a new `path` starts afresh). */
export function LogView(props: ILogViewProps): JSX.Element {
  return <LogLines key={props.path} {...props} />;
}

function LogLines(props: ILogViewProps): JSX.Element {
  const { context, path, active } = props;
  const [log, setLog] = useState<ILogState>(emptyLog);
  const after = useRef(0);

  const { error } = usePolled(
    context,
    async () => {
      const page = await context.request<JobLog>(path, { query: { after: after.current } });
      setLog(current => {
        const next = appendLog(current, page);
        after.current = next.after;
        return next;
      });
      return page;
    },
    { name: `log ${path}`, interval: LOG_INTERVAL, active: active && !log.complete }
  );

  // Follow the end of the log unless the user scrolled up to read.
  const box = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && following.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [log.lines.length]);
  const onScroll = () => {
    const el = box.current!;
    following.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };

  const trace = log.lines.filter(line => line.stream === TRACE);
  return (
    <div className="jp-mlops-log" data-testid="mlops-log" ref={box} onScroll={onScroll}>
      {log.dropped > 0 && (
        <div className="jp-mlops-muted">… {log.dropped} earlier lines not shown</div>
      )}
      {log.lines
        .filter(line => line.stream !== TRACE)
        .map(line => (
          <div key={line.seq} className="jp-mlops-log-line">
            {line.line}
          </div>
        ))}
      {trace.length > 0 && (
        <details className="jp-mlops-trace" data-testid="mlops-log-trace">
          <summary>traceback ({trace.length} lines)</summary>
          {trace.map(line => (
            <div key={line.seq} className="jp-mlops-log-line">
              {line.line}
            </div>
          ))}
        </details>
      )}
      {log.state !== null && log.lines.length === 0 && (
        <div className="jp-mlops-muted">No log lines{log.complete ? '' : ' yet'}.</div>
      )}
      {error && <div className="jp-mlops-error">{error.message}</div>}
    </div>
  );
}
