/** The models in the local cache (sizes, revisions) and their confirmed delete. */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import React, { useState } from 'react';

import { asAPIError } from '../../api';
import { ErrorLine } from '../../components/errorline';
import { ITabProps } from '../../context';
import { formatAgo, formatBytes } from '../../format';
import { deletedText, deleteRequest, IDeleteChoice, revisionLabel } from '../../models';
import type { HubDeleted, HubModel, HubModelPage } from '../../types';

export interface ILocalModelsProps extends ITabProps {
  page: HubModelPage | undefined;
  error: string | undefined;
  onChanged(): void;
  /** Show another page of models. */
  onMore(): void;
}

/** The models in the local cache, with their sizes and a delete each. */
export function LocalModels(props: ILocalModelsProps): JSX.Element {
  const { page } = props;
  const [notice, setNotice] = useState<string>();
  return (
    <>
      <div className="jp-mlops-models-section" title={page?.cache_dir}>
        Local models
        {page && <span className="jp-mlops-muted"> · {formatBytes(page.size_on_disk)}</span>}
      </div>
      <ErrorLine message={props.error} />
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

export interface ILocalModelProps extends ITabProps {
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
      <ErrorLine message={error} testid="mlops-local-error" />
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
