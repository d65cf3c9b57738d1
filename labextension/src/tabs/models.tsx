/**
 * Models: download from the Hugging Face Hub (repo, revision, include/exclude globs), the
 * downloads with progress (bytes, rate, ETA) and cancel, and the models in the local cache
 * with their sizes and a confirmed delete that shows the server's refusal reason.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import React, { useRef, useState } from 'react';

import { REFRESH } from '../actions';
import { apiPath, asAPIError, fetchUpTo } from '../api';
import { ProgressBar } from '../components/progress';
import { ITabAction, ITabProps } from '../context';
import { formatAgo, formatBytes } from '../format';
import { useAction, usePolled, useRowRequest } from '../hooks';
import { cancellable, isActive, jobState } from '../jobs';
import { byId, IChoice, ITargetCommand, listItems, textArg } from '../targets';
import {
  activeIds,
  anyEnded,
  deletedText,
  deleteRequest,
  hubModelPath,
  downloadBody,
  downloadOf,
  EMPTY_FORM,
  SERVER_FIELDS,
  IDeleteChoice,
  IDownloadForm,
  revisionLabel
} from '../models';
import type { HubDeleted, HubModel, HubModelPage, Job, JobPage } from '../types';

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

/** A download in a picker: `#4 org/name@main · running 40%`. */
function downloadChoice(job: Job): IChoice<Job> {
  const { repo, revision } = downloadOf(job);
  return { label: `#${job.id} ${repo}@${revision} · ${jobState(job)}`, value: job };
}

/** Palette commands of this tab on one download or local model. */
export const MODELS_TARGETS: readonly ITargetCommand<any>[] = [
  {
    id: 'mlops:cancel-download',
    label: 'Cancel a Model Download',
    title: 'Cancel which download?',
    none: 'No download is queued or running.',
    choices: async context =>
      (await listItems<Job>(context, 'hub/downloads', { active: true }))
        .filter(cancellable)
        .map(downloadChoice),
    fromArgs: byId<Job>('jobs'),
    run: async (context, job) => {
      await context.request(apiPath('hub', 'downloads', job.id, 'cancel'), { method: 'POST' });
      return `Cancelling the download of ${downloadOf(job).repo}.`;
    }
  } satisfies ITargetCommand<Job>,
  {
    id: 'mlops:delete-local-model',
    label: 'Delete a Downloaded Model',
    title: 'Delete which downloaded model?',
    none: 'No models in the local cache.',
    choices: async context =>
      (await listItems<HubModel>(context, 'hub/models')).map(model => ({
        label: `${model.repo_id} · ${formatBytes(model.size_on_disk)}`,
        value: model
      })),
    // {repo: 'org/name'}
    fromArgs: (context, args) => {
      const repo = textArg(args, 'repo');
      return repo === undefined ? undefined : context.request<HubModel>(hubModelPath(repo));
    },
    run: async (context, model) => {
      const choice = await askDelete(model);
      if (!choice) {
        return null;
      }
      const { path, query } = deleteRequest(model, choice);
      return deletedText(await context.request<HubDeleted>(path, { method: 'DELETE', query }));
    }
  } satisfies ITargetCommand<HubModel>
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
      {downloads.error && (
        <div className="jp-mlops-error" role="alert">
          {downloads.error.message}
        </div>
      )}
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

/** The download form: errors from the server show next to the input they name. */
function DownloadForm(props: ITabProps & { onStarted(): void }): JSX.Element {
  const { context } = props;
  const [form, setForm] = useState<IDownloadForm>(EMPTY_FORM);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<{ field?: string; message: string }>();
  const [notice, setNotice] = useState<string>();
  const repoInput = useRef<HTMLInputElement>(null);

  useAction(context, 'models:download', repo => {
    if (typeof repo === 'string') {
      setForm({ ...EMPTY_FORM, repo });
      setError(undefined);
      setNotice(undefined);
    }
    // the tab was just opened by the command: focus once it is laid out
    requestAnimationFrame(() => repoInput.current?.focus());
  });

  const start = async (event: React.FormEvent) => {
    event.preventDefault();
    setSending(true);
    setError(undefined);
    setNotice(undefined);
    try {
      const job = await context.request<Job>('hub/downloads', {
        method: 'POST',
        json: downloadBody(form)
      });
      const { repo, revision } = downloadOf(job);
      setNotice(
        job.deduplicated
          ? `${repo}@${revision} is already downloading (job #${job.id}).`
          : `Downloading ${repo}@${revision} (job #${job.id}).`
      );
      props.onStarted();
    } catch (reason) {
      const failure = asAPIError(reason);
      setError({ field: failure.field, message: failure.message });
    } finally {
      setSending(false);
    }
  };

  const input = (
    key: keyof IDownloadForm,
    label: string,
    placeholder: string,
    ref?: React.RefObject<HTMLInputElement>
  ) => {
    const field = SERVER_FIELDS[key];
    return (
      <label className="jp-mlops-models-field">
        <span>{label}</span>
        <input
          ref={ref}
          data-testid={`mlops-download-${key}`}
          value={form[key]}
          placeholder={placeholder}
          aria-invalid={error?.field === field}
          onChange={e => setForm({ ...form, [key]: e.target.value })}
        />
        {error?.field === field && (
          <span className="jp-mlops-error" data-testid="mlops-field-error" data-field={field}>
            {error.message}
          </span>
        )}
      </label>
    );
  };

  const inline = !!error?.field && Object.values(SERVER_FIELDS).includes(error.field);
  return (
    <form className="jp-mlops-models-form" data-testid="mlops-download-form" onSubmit={start}>
      {input('repo', 'Repository', 'org/name', repoInput)}
      {input('revision', 'Revision', 'main')}
      {input('include', 'Include', '*.json, *Q4_K_M*.gguf')}
      {input('exclude', 'Exclude', '*.bin')}
      <div className="jp-mlops-toolbar">
        <span className="jp-mlops-grow" />
        <button
          type="submit"
          className="jp-mlops-button jp-mlops-models-start"
          data-testid="mlops-download-start"
          disabled={sending || !form.repo.trim()}
        >
          {sending ? 'Starting…' : 'Download'}
        </button>
      </div>
      {error && !inline && (
        <div className="jp-mlops-error" role="alert">
          {error.message}
        </div>
      )}
      {notice && <div className="jp-mlops-message">{notice}</div>}
    </form>
  );
}

interface IDownloadRowProps extends ITabProps {
  job: Job;
  onChanged(): void;
}

/** One download job: repo, state, progress, cancel. */
function DownloadRow(props: IDownloadRowProps): JSX.Element {
  const { job, context } = props;
  const { busy: cancelling, error, send } = useRowRequest(context);
  const running = isActive(job.state);
  const { repo, revision, include, exclude } = downloadOf(job);
  const cancel = () => send(apiPath('hub', 'downloads', job.id, 'cancel'), props.onChanged);

  return (
    <li
      className="jp-mlops-job"
      data-testid="mlops-download-row"
      data-job-id={job.id}
      data-repo={repo}
      data-state={job.state}
    >
      <div className="jp-mlops-job-head">
        <span className="jp-mlops-job-kind" title={`${repo}@${revision}`}>
          {repo}
        </span>
        <span className={`jp-mlops-state jp-mlops-state-${job.state}`}>
          {job.cancel_requested && running ? 'cancelling' : job.state}
        </span>
        <span className="jp-mlops-grow" />
        {cancellable(job) && (
          <button
            className="jp-mlops-button jp-mlops-danger"
            data-testid="mlops-download-cancel"
            disabled={cancelling}
            onClick={() => void cancel()}
          >
            Cancel
          </button>
        )}
      </div>
      {(running || !!job.progress.total) && (
        <div data-testid="mlops-download-progress">
          <ProgressBar progress={job.progress} running={job.state === 'running'} />
        </div>
      )}
      {(job.error || (running && job.message)) && (
        <div className={job.error ? 'jp-mlops-error' : 'jp-mlops-message'}>
          {job.error || job.message}
        </div>
      )}
      <div className="jp-mlops-muted">
        #{job.id} · {revision}
        {include.length > 0 && ` · include ${include.join(', ')}`}
        {exclude.length > 0 && ` · exclude ${exclude.join(', ')}`}
        {' · '}
        <span title={job.created_at}>{formatAgo(job.created_at)}</span>
      </div>
      {error && (
        <div className="jp-mlops-error" role="alert">
          {error}
        </div>
      )}
    </li>
  );
}

interface ILocalModelsProps extends ITabProps {
  page: HubModelPage | undefined;
  error: string | undefined;
  onChanged(): void;
  /** Show another page of models. */
  onMore(): void;
}

/** The models in the local cache, with their sizes and a delete each. */
function LocalModels(props: ILocalModelsProps): JSX.Element {
  const { page } = props;
  const [notice, setNotice] = useState<string>();
  return (
    <>
      <div className="jp-mlops-models-section" title={page?.cache_dir}>
        Local models
        {page && <span className="jp-mlops-muted"> · {formatBytes(page.size_on_disk)}</span>}
      </div>
      {props.error && (
        <div className="jp-mlops-error" role="alert">
          {props.error}
        </div>
      )}
      {notice && (
        <div className="jp-mlops-message" data-testid="mlops-local-notice">
          {notice}
        </div>
      )}
      {page && !page.items.length && (
        <div className="jp-mlops-empty">No models in the cache {page.cache_dir}.</div>
      )}
      <ul className="jp-mlops-list">
        {page?.items.map(model => (
          <LocalModel
            key={model.repo_id}
            {...props}
            model={model}
            onDeleted={deleted => {
              setNotice(deletedText(deleted));
              props.onChanged();
            }}
          />
        ))}
      </ul>
      {page?.next_cursor && (
        <button className="jp-mlops-button" data-testid="mlops-local-more" onClick={props.onMore}>
          Show more
        </button>
      )}
    </>
  );
}

interface ILocalModelProps extends ITabProps {
  model: HubModel;
  onDeleted(deleted: HubDeleted): void;
}

function LocalModel(props: ILocalModelProps): JSX.Element {
  const { model, context } = props;
  const [error, setError] = useState<string>();
  const [deleting, setDeleting] = useState(false);

  const remove = async () => {
    setError(undefined);
    const choice = await askDelete(model);
    if (!choice) {
      return;
    }
    const { path, query } = deleteRequest(model, choice);
    setDeleting(true);
    try {
      const deleted = await context.request<HubDeleted>(path, { method: 'DELETE', query });
      props.onDeleted(deleted);
    } catch (reason) {
      setError(asAPIError(reason).message); // 409 in use, 403 the path it may not touch
    } finally {
      setDeleting(false);
    }
  };

  return (
    <li className="jp-mlops-job" data-testid="mlops-local-model" data-repo={model.repo_id}>
      <div className="jp-mlops-job-head">
        <span className="jp-mlops-job-kind" title={`${model.repo_id}\n${model.path}`}>
          {model.repo_id}
        </span>
        {model.downloading && (
          <span className="jp-mlops-state jp-mlops-state-running">downloading</span>
        )}
        <span className="jp-mlops-grow" />
        <button
          className="jp-mlops-button jp-mlops-danger"
          data-testid="mlops-local-delete"
          disabled={deleting}
          onClick={() => void remove()}
        >
          Delete
        </button>
      </div>
      <div className="jp-mlops-muted">
        <span className="jp-mlops-models-size">{formatBytes(model.size_on_disk)}</span>
        {' · '}
        {model.file_count} file{model.file_count === 1 ? '' : 's'}
        {' · '}
        {model.revisions.map(revisionLabel).join(' · ')}
        {model.last_modified && (
          <>
            {' · '}
            <span title={model.last_modified}>{formatAgo(model.last_modified)}</span>
          </>
        )}
      </div>
      {error && (
        <div className="jp-mlops-error" role="alert" data-testid="mlops-local-error">
          {error}
        </div>
      )}
    </li>
  );
}

/** Ask whether to delete `model` (which revision, even if in use): the choice, or null. */
export async function askDelete(model: HubModel): Promise<IDeleteChoice | null> {
  const chosen = { revision: null as string | null };
  const result = await showDialog({
    title: `Delete ${model.repo_id}?`,
    body: <DeleteBody model={model} onChange={revision => (chosen.revision = revision)} />,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })],
    checkbox: { label: 'Even if in use', caption: 'Delete even while a job or release uses it' }
  });
  return result.button.accept ? { revision: chosen.revision, force: !!result.isChecked } : null;
}

/** The delete dialog's body: the size, and with several cached revisions which to delete. */
function DeleteBody(props: {
  model: HubModel;
  onChange(revision: string | null): void;
}): JSX.Element {
  const { model } = props;
  return (
    <div className="jp-mlops-models-delete">
      <p>
        {formatBytes(model.size_on_disk)} in {model.file_count} file
        {model.file_count === 1 ? '' : 's'} from the local cache.
      </p>
      {model.revisions.length > 1 && (
        <select
          className="jp-mod-styled"
          data-testid="mlops-local-delete-revision"
          onChange={e => props.onChange(e.target.value || null)}
        >
          <option value="">All revisions</option>
          {model.revisions.map(rev => (
            <option key={rev.commit} value={rev.commit}>
              {revisionLabel(rev)} ({rev.commit.slice(0, 10)}, {formatBytes(rev.size_on_disk)})
            </option>
          ))}
        </select>
      )}
    </div>
  );
}
