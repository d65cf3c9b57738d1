/**
 * Jobs: everything running or recent, from any face (sidebar, magics, CLI),
 * with progress, cancel, and the live log of the job clicked.
 */
import React, { useState } from 'react';

import { apiPath } from '../api';
import { ErrorLine } from '../components/errorline';
import { ProgressBar } from '../components/progress';
import { LogView } from '../components/logview';
import { ITabAction, ITabProps } from '../context';
import { formatAgo, formatDuration } from '../format';
import { isBoolean, isIdOrNull, useAction, usePolled, useRowRequest, useSaved } from '../hooks';
import { cancellable, isActive, jobState } from '../jobs';
import { byId, IChoice, ITargetCommand, listItems } from '../targets';
import type { Job, JobPage } from '../types';
import { folderName } from '../workspace';

/** Ticks while a job is queued or running, and while none is. */
export const BUSY_INTERVAL = 2000;
export const IDLE_INTERVAL = 10000;
/** Jobs shown at first; "Show more" adds as many again. */
export const PAGE = 25;

/** Palette actions of this tab (registered by `addCommands`). */
export const JOBS_ACTIONS: readonly ITabAction[] = [
  { id: 'mlops:show-active-jobs', label: 'Show Active MLOps Jobs', action: 'jobs:active-only' }
];

/** A job in a picker: `#12 hub.download · running 40%`. */
function jobChoice(job: Job): IChoice<Job> {
  return { label: `#${job.id} ${job.kind} · ${jobState(job)}`, value: job };
}

const showJob = (job: Job) => ({ action: 'jobs:show', args: job.id });

/** Palette commands of this tab on one job. */
export const JOBS_TARGETS: readonly ITargetCommand<Job>[] = [
  {
    // e.g. app.commands.execute('mlops:show-job', { id }) after starting a job elsewhere
    id: 'mlops:show-job',
    label: 'Show an MLOps Job and Its Log',
    title: 'Show which job?',
    none: 'No jobs yet.',
    choices: async context => (await listItems<Job>(context, 'jobs')).map(jobChoice),
    fromArgs: byId<Job>('jobs'),
    show: showJob
  },
  {
    id: 'mlops:cancel-job',
    label: 'Cancel an MLOps Job',
    title: 'Cancel which job?',
    none: 'No job is queued or running.',
    choices: async context =>
      (await listItems<Job>(context, 'jobs', { active: true })).filter(cancellable).map(jobChoice),
    fromArgs: byId<Job>('jobs'),
    run: async (context, job) => {
      await context.request(apiPath('jobs', job.id, 'cancel'), { method: 'POST' });
      return `Cancelling job #${job.id} (${job.kind}).`;
    },
    show: showJob
  }
];

/** The Jobs tab. */
export function JobsTab(props: ITabProps): JSX.Element {
  const { context, active } = props;
  const [limit, setLimit] = useState(PAGE);
  const [activeOnly, setActiveOnly] = useSaved(context, 'jobs.activeOnly', false, isBoolean);
  const [selected, setSelected] = useSaved<number | null>(context, 'jobs.job', null, isIdOrNull);
  const [busy, setBusy] = useState(true);

  const jobs = usePolled(
    context,
    async () => {
      const page = await context.request<JobPage>('jobs', {
        query: { limit, active: activeOnly || undefined }
      });
      setBusy(page.items.some(job => isActive(job.state)));
      return page;
    },
    {
      name: 'jobs',
      interval: busy ? BUSY_INTERVAL : IDLE_INTERVAL,
      active,
      deps: [limit, activeOnly]
    }
  );
  useAction(context, 'jobs:active-only', () => setActiveOnly(true));
  useAction(context, 'jobs:show', id => {
    if (typeof id === 'number' && Number.isInteger(id)) {
      setActiveOnly(false);
      setSelected(id);
    }
  });

  const items = jobs.data?.items ?? [];
  return (
    <div className="jp-mlops-jobs">
      <div className="jp-mlops-toolbar">
        <label>
          <input
            type="checkbox"
            checked={activeOnly}
            onChange={e => setActiveOnly(e.target.checked)}
          />{' '}
          Active only
        </label>
        <button className="jp-mlops-button" title="Refresh now" onClick={() => jobs.refresh()}>
          Refresh
        </button>
      </div>
      <ErrorLine message={jobs.error?.message} />
      {jobs.data && !items.length && (selected === null || activeOnly) && (
        <div className="jp-mlops-empty">
          {activeOnly ? 'No job is queued or running.' : 'No jobs yet.'}
        </div>
      )}
      <ul className="jp-mlops-list">
        {/* a job shown from the palette that is not on the loaded page goes first */}
        {selected !== null && !activeOnly && jobs.data && !items.some(j => j.id === selected) && (
          <OtherJob
            key={selected}
            id={selected}
            onClose={() => setSelected(null)}
            onChanged={() => jobs.refresh()}
            {...props}
          />
        )}
        {items.map(job => (
          <JobRow
            key={job.id}
            job={job}
            open={selected === job.id}
            onToggle={() => setSelected(selected === job.id ? null : job.id)}
            onChanged={() => jobs.refresh()}
            {...props}
          />
        ))}
      </ul>
      {jobs.data?.next_cursor && (
        <button className="jp-mlops-button" onClick={() => setLimit(limit + PAGE)}>
          Show more
        </button>
      )}
    </div>
  );
}

/** A job that is not on the loaded page (shown from the palette), polled on its own. */
function OtherJob(
  props: ITabProps & { id: number; onClose(): void; onChanged(): void }
): JSX.Element {
  const { id, context, active } = props;
  const [busy, setBusy] = useState(true);
  const job = usePolled(
    context,
    async () => {
      const found = await context.request<Job>(apiPath('jobs', id));
      setBusy(isActive(found.state));
      return found;
    },
    { name: `job ${id}`, interval: busy ? BUSY_INTERVAL : IDLE_INTERVAL, active }
  );
  if (!job.data) {
    return (
      <li className="jp-mlops-job" data-testid="mlops-job-row" data-job-id={id}>
        <div className="jp-mlops-job-head">
          <span className={job.error ? 'jp-mlops-error' : 'jp-mlops-muted'}>
            {job.error?.message ?? `Loading job #${id}…`}
          </span>
          <span className="jp-mlops-grow" />
          <button className="jp-mlops-button" onClick={props.onClose}>
            Close
          </button>
        </div>
      </li>
    );
  }
  return <JobRow job={job.data} open={true} onToggle={props.onClose} {...props} />;
}

interface IJobRowProps extends ITabProps {
  job: Job;
  open: boolean;
  onToggle(): void;
  onChanged(): void;
}

function JobRow(props: IJobRowProps): JSX.Element {
  const { job, open, context, active } = props;
  const { busy: cancelling, error, send } = useRowRequest(context);
  const running = isActive(job.state);

  const cancel = (event: React.MouseEvent) => {
    event.stopPropagation();
    void send(apiPath('jobs', job.id, 'cancel'), props.onChanged);
  };

  return (
    <li
      className="jp-mlops-job"
      data-testid="mlops-job-row"
      data-job-id={job.id}
      data-kind={job.kind}
      data-state={job.state}
    >
      <div
        className="jp-mlops-job-head"
        role="button"
        tabIndex={0}
        aria-expanded={open}
        title={open ? 'Hide the log' : 'Show the log'}
        onClick={props.onToggle}
        onKeyDown={e =>
          e.target === e.currentTarget && (e.key === 'Enter' || e.key === ' ') && props.onToggle()
        }
      >
        <span className="jp-mlops-job-kind">{job.kind}</span>
        <span className={`jp-mlops-state jp-mlops-state-${job.state}`}>
          {job.cancel_requested && running ? 'cancelling' : job.state}
        </span>
        <span className="jp-mlops-grow" />
        {cancellable(job) && (
          <button
            className="jp-mlops-button jp-mlops-danger"
            disabled={cancelling}
            data-testid="mlops-job-cancel"
            onClick={cancel}
          >
            Cancel
          </button>
        )}
      </div>
      {(running || !!job.progress.total) && (
        <div data-testid="mlops-job-progress">
          <ProgressBar progress={job.progress} running={job.state === 'running'} />
        </div>
      )}
      {(job.error || job.message) && (
        <div className={job.error ? 'jp-mlops-error' : 'jp-mlops-message'}>
          {job.error || job.message}
        </div>
      )}
      <div className="jp-mlops-muted">
        #{job.id}
        {job.owner && ` · ${job.owner}`}
        {job.place && (
          <span
            data-testid="mlops-job-place"
            title={`runs on ${job.place.host} in ${job.place.workspace}`}
          >
            {` · in ${folderName(job.place.workspace)}`}
          </span>
        )}
        {' · '}
        <span title={job.created_at}>{formatAgo(job.created_at)}</span>
        {job.elapsed_seconds !== null && ` · ${formatDuration(job.elapsed_seconds)}`}
      </div>
      <ErrorLine message={error} />
      {open && <LogView context={context} path={apiPath('jobs', job.id, 'log')} active={active} />}
    </li>
  );
}
