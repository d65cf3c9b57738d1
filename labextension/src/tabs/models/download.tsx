/** The Models tab's download form and its download rows (progress, cancel). */
import React, { useRef, useState } from 'react';

import { apiPath, asAPIError } from '../../api';
import { ErrorLine } from '../../components/errorline';
import { ProgressBar } from '../../components/progress';
import { ITabProps } from '../../context';
import { formatAgo } from '../../format';
import { useAction, useRowRequest } from '../../hooks';
import { cancellable, isActive } from '../../jobs';
import { downloadBody, downloadOf, EMPTY_FORM, IDownloadForm, SERVER_FIELDS } from '../../models';
import type { Job } from '../../types';

/** The download form: errors from the server show next to the input they name. */
export function DownloadForm(props: ITabProps & { onStarted(): void }): JSX.Element {
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
          className="jp-mlops-input"
          data-testid={`mlops-download-${key}`}
          value={form[key]}
          placeholder={placeholder}
          title={placeholder}
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

export interface IDownloadRowProps extends ITabProps {
  job: Job;
  onChanged(): void;
}

/** One download job: repo, state, progress, cancel. */
export function DownloadRow(props: IDownloadRowProps): JSX.Element {
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
      <ErrorLine message={error} />
    </li>
  );
}
