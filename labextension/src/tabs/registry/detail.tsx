/** One model of the Registry tab: its releases with their lifecycle buttons, the
 * create-release form, its aliases, deployments and artifacts, and its audit history. */
import React, { useState } from 'react';

import { apiPath, fetchItems, fetchUpTo } from '../../api';
import { ErrorLine } from '../../components/errorline';
import { IMLOpsContext } from '../../context';
import { usePolled } from '../../hooks';
import type { Alias, Model, Release, ReleasePage } from '../../types';
import { Aliases } from './aliases';
import { Artifacts } from './artifacts';
import { Deployments } from './deployments';
import { AuditHistory } from './history';
import { Tags } from './models';
import { CreateReleaseForm, ReleaseRow } from './releases';
import { Storage } from './storage';
import { storedText } from '../../storage';

/** How often an open model refreshes while shown. */
export const DETAIL_INTERVAL = 10000;
/** Releases shown at first; "Show more" adds as many again. */
export const RELEASES_PAGE = 20;
/** How often a model with more releases than shown has all of them (up to 2000) read again,
 * for the forms' release selects and the labels of its deployments and artifacts. */
export const ALL_RELEASES_INTERVAL = 30000;

/** Props of `ModelDetail`. */
export interface IModelDetailProps {
  context: IMLOpsContext;
  name: string;
  active: boolean;
  onBack(): void;
  /** A palette action asked for the create-release form or the history. */
  focus: 'release' | 'history' | null;
  onFocused(): void;
}

/** The page of one model (mount it with `key={name}`). */
export function ModelDetail(props: IModelDetailProps): JSX.Element {
  const { context, name, active } = props;
  const [shown, setShown] = useState(RELEASES_PAGE);
  const detail = usePolled(
    context,
    async () => {
      const [model, releases] = await Promise.all([
        context.request<Model>(apiPath('models', name)),
        fetchUpTo(
          (limit, cursor) =>
            context.request<ReleasePage>('releases', { query: { model: name, limit, cursor } }),
          shown
        )
      ]);
      return { model, releases };
    },
    { name: 'registry-model', interval: DETAIL_INTERVAL, active, deps: [shown] }
  );
  const model = detail.data?.model;
  const releases = detail.data?.releases.items ?? [];
  const more = !!detail.data?.releases.next_cursor;
  const all = usePolled(
    context,
    () =>
      fetchItems<Release>((path, init) => context.request<ReleasePage>(path, init), 'releases', {
        model: name
      }),
    { name: 'registry-all-releases', interval: ALL_RELEASES_INTERVAL, active: active && more }
  );
  const everyRelease = more && all.data ? all.data : releases;
  const aliases: Alias[] = Object.entries(model?.aliases ?? {}).map(([alias, id]) => ({
    model: name,
    alias,
    release_id: id
  }));

  return (
    <div className="jp-mlops-reg-detail" data-testid="mlops-model-detail" data-name={name}>
      <div className="jp-mlops-reg-head">
        <button
          className="jp-mlops-button"
          title="Back to the models"
          data-testid="mlops-model-back"
          onClick={props.onBack}
        >
          ← Models
        </button>
        <span className="jp-mlops-reg-title" title={name}>
          {name}
        </span>
      </div>
      <ErrorLine message={detail.error?.message} />
      {model && <ModelInfo model={model} />}
      {model && <Storage context={context} model={model} active={active} />}

      <div className="jp-mlops-reg-subtitle">
        Releases{model?.release_count !== undefined && ` (${model.release_count})`}
      </div>
      {detail.data && !releases.length && (
        <div className="jp-mlops-empty">No releases yet: create one below.</div>
      )}
      <ul className="jp-mlops-list">
        {releases.map(release => (
          <ReleaseRow
            key={release.id}
            context={context}
            release={release}
            aliases={aliases.filter(a => a.release_id === release.id).map(a => a.alias)}
          />
        ))}
      </ul>
      {more && (
        <button className="jp-mlops-button" onClick={() => setShown(shown + RELEASES_PAGE)}>
          Show more
        </button>
      )}
      <CreateReleaseForm
        context={context}
        name={name}
        active={active}
        focus={props.focus === 'release'}
        onFocused={props.onFocused}
      />
      <Aliases
        context={context}
        name={name}
        active={active}
        aliases={aliases}
        releases={everyRelease}
      />
      <Deployments context={context} name={name} active={active} releases={everyRelease} />
      <Artifacts context={context} name={name} active={active} releases={everyRelease} />
      <AuditHistory
        context={context}
        name={name}
        active={active}
        focus={props.focus === 'history'}
        onFocused={props.onFocused}
      />
    </div>
  );
}

function ModelInfo(props: { model: Model }): JSX.Element {
  const { model } = props;
  const facts = [
    model.base_model && `from ${model.base_model}`,
    model.company,
    model.parameter_count !== null && `${model.parameter_count.toLocaleString()} parameters`
  ].filter(Boolean);
  return (
    <div className="jp-mlops-reg-info">
      <div className="jp-mlops-muted jp-mlops-reg-ellipsis" title={model.storage_path}>
        {model.storage_path}
        {model.stored && ` (${storedText(model.stored)})`}
      </div>
      {!!facts.length && <div className="jp-mlops-muted">{facts.join(' · ')}</div>}
      {model.description && <div className="jp-mlops-message">{model.description}</div>}
      {!!model.tags.length && <Tags tags={model.tags} />}
    </div>
  );
}
