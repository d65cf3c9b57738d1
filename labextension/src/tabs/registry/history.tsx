/** A model's audit history (GET audit?model=), read only while its section is open. */
import React, { useRef, useState } from 'react';

import { ErrorLine } from '../../components/errorline';
import { IMLOpsContext } from '../../context';
import { formatAgo } from '../../format';
import { useFocusRequest, usePolled } from '../../hooks';
import { fetchUpTo } from '../../api';
import { auditSummary } from '../../registry';
import type { AuditEventPage } from '../../types';

/** How often an open history refreshes. */
export const HISTORY_INTERVAL = 15000;
/** Events shown at first; "Show more" adds as many again. */
export const HISTORY_PAGE = 20;

/** The collapsible history of model `name`, newest first. */
export function AuditHistory(props: {
  context: IMLOpsContext;
  name: string;
  active: boolean;
  /** A palette action asked for the history: open and show it. */
  focus: boolean;
  onFocused(): void;
}): JSX.Element {
  const { context, name } = props;
  const [open, setOpen] = useState(false);
  const summary = useRef<HTMLElement>(null);
  useFocusRequest(summary, props.focus, props.active, props.onFocused, () => setOpen(true));
  const [shown, setShown] = useState(HISTORY_PAGE);
  const history = usePolled(
    context,
    () =>
      fetchUpTo(
        (limit, cursor) =>
          context.request<AuditEventPage>('audit', { query: { model: name, limit, cursor } }),
        shown
      ),
    {
      name: 'registry-audit',
      interval: HISTORY_INTERVAL,
      active: props.active && open,
      deps: [shown]
    }
  );
  const events = history.data?.items ?? [];

  return (
    <details
      className="jp-mlops-reg-section"
      data-testid="mlops-model-history"
      open={open}
      onToggle={e => setOpen((e.target as HTMLDetailsElement).open)}
    >
      <summary ref={summary}>History</summary>
      <ErrorLine message={history.error?.message} />
      <ul className="jp-mlops-list">
        {events.map(event => (
          <li
            key={event.id}
            className="jp-mlops-reg-event"
            data-testid="mlops-audit-row"
            data-action={event.action}
            data-entity-type={event.entity_type}
          >
            <span>{auditSummary(event)}</span>
            <EventWhen actor={event.actor} at={event.at} />
          </li>
        ))}
      </ul>
      {history.data?.next_cursor && (
        <button className="jp-mlops-button" onClick={() => setShown(shown + HISTORY_PAGE)}>
          Show more
        </button>
      )}
    </details>
  );
}

/** When and by whom a recorded change was made: `3 min ago · ada` (both in full in the tooltip). */
export function EventWhen(props: { actor: string; at: string }): JSX.Element {
  return (
    <span className="jp-mlops-muted jp-mlops-reg-ellipsis" title={`${props.actor}, ${props.at}`}>
      {formatAgo(props.at)} · {props.actor}
    </span>
  );
}
