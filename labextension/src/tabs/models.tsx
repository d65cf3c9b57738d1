/**
 * Models: download from the Hugging Face Hub (repo, revision, include/exclude globs), the
 * downloads with progress (bytes, rate, ETA) and cancel, and the models in the local cache
 * with their sizes and a confirmed delete that shows the server's refusal reason.
 */
import React, { useRef, useState } from 'react';

import { REFRESH } from '../actions';
import { fetchUpTo } from '../api';
import { ErrorLine } from '../components/errorline';
import { ITabAction, ITabProps } from '../context';
import { usePolled } from '../hooks';
import { activeIds, anyEnded } from '../models';
import type { HubModel, HubModelPage, JobPage } from '../types';
import { DownloadForm, DownloadRow } from './models/download';
import { LocalModels } from './models/local';

/** Ticks of the downloads list while one is queued or running, and while none is. */
export const BUSY_INTERVAL = 2000;
export const IDLE_INTERVAL = 15000;
/** The local cache is scanned rarely, and at once when a download ends. */
export const LOCAL_INTERVAL = 60000;
/** Downloads shown at first; "Show more" adds as many again. */
export const PAGE = 10;

/** Palette actions of this tab. */
export const MODELS_ACTIONS: readonly ITabAction[] = [
  {
    id: 'mlops:download-model',
    label: 'Download a Model from the Hugging Face Hub',
    action: 'models:download',
    args: args => (typeof args.repo === 'string' ? args.repo : undefined)
  }
];

/** The Models tab. */
export function ModelsTab(props: ITabProps): JSX.Element {
  const { context, active } = props;
  const [limit, setLimit] = useState(PAGE);
  const [busy, setBusy] = useState(false);
  const activeBefore = useRef<Set<number>>(new Set());

  const [localLimit, setLocalLimit] = useState(PAGE);
  const local = usePolled(
    context,
    async (): Promise<HubModelPage> => {
      let first: HubModelPage | undefined;
      const page = await fetchUpTo<HubModel>(async (limit, cursor) => {
        const answer = await context.request<HubModelPage>('hub/models', {
          query: { limit, cursor }
        });
        first = first ?? answer;
        return answer;
      }, localLimit);
      return { ...first!, ...page };
    },
    { name: 'hub models', interval: LOCAL_INTERVAL, active, deps: [localLimit] }
  );
  const downloads = usePolled(
    context,
    async () => {
      const page = await context.request<JobPage>('hub/downloads', { query: { limit } });
      if (anyEnded(activeBefore.current, page.items)) {
        context.actions.emit(REFRESH); // a download ended: the cache and the disk changed
      }
      activeBefore.current = activeIds(page.items);
      setBusy(activeBefore.current.size > 0);
      return page;
    },
    {
      name: 'hub downloads',
      interval: busy ? BUSY_INTERVAL : IDLE_INTERVAL,
      active,
      deps: [limit]
    }
  );

  const items = downloads.data?.items ?? [];
  return (
    <div className="jp-mlops-models">
      <DownloadForm {...props} onStarted={() => downloads.refresh()} />
      <div className="jp-mlops-models-section">Downloads</div>
      <ErrorLine message={downloads.error?.message} />
      {downloads.data && !items.length && <div className="jp-mlops-empty">No downloads yet.</div>}
      <ul className="jp-mlops-list">
        {items.map(job => (
          <DownloadRow key={job.id} job={job} {...props} onChanged={() => downloads.refresh()} />
        ))}
      </ul>
      {downloads.data?.next_cursor && (
        <button className="jp-mlops-button" onClick={() => setLimit(limit + PAGE)}>
          Show more
        </button>
      )}
      <LocalModels
        {...props}
        page={local.data}
        error={local.error?.message}
        onChanged={() => context.actions.emit(REFRESH)}
        onMore={() => setLocalLimit(localLimit + PAGE)}
      />
    </div>
  );
}
