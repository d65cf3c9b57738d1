/** The timeline of a model's aliases: every target each had, who moved it and when. */
import React from 'react';

import { aliasEventSummary } from '../../registry';
import type { AliasEvent } from '../../types';
import { EventWhen } from './history';

/** Changes shown at first; "Show more" adds as many again. */
export const TIMELINE_PAGE = 10;

/** The changes `events` (newest first); `onMore` shows more when the server has more. */
export function AliasTimeline(props: {
  events: AliasEvent[];
  more: boolean;
  onMore(): void;
}): JSX.Element {
  const { events } = props;
  return (
    <div className="jp-mlops-reg-timeline" data-testid="mlops-alias-timeline">
      <div className="jp-mlops-reg-subtitle">Alias timeline</div>
      {!events.length && <div className="jp-mlops-muted">No alias changes yet.</div>}
      <ul className="jp-mlops-list">
        {events.map(event => (
          <li
            key={event.id}
            className="jp-mlops-reg-event"
            data-testid="mlops-alias-event"
            data-alias={event.alias}
            data-action={event.action}
            data-release-id={event.release_id ?? ''}
          >
            <span>{aliasEventSummary(event)}</span>
            <EventWhen actor={event.actor} at={event.at} />
          </li>
        ))}
      </ul>
      {props.more && (
        <button className="jp-mlops-button" onClick={props.onMore}>
          Show more
        </button>
      )}
    </div>
  );
}
