/** One model of the Registry tab: its releases with their lifecycle buttons, the
 * create-release form, its aliases and its audit history. */
import React, { useRef, useState } from 'react';

import { REFRESH } from '../../actions';
import { apiPath, fetchItems, fetchUpTo } from '../../api';
import { IMLOpsContext } from '../../context';
import { formatAgo } from '../../format';
import { useFocusRequest, usePolled, useRowRequest } from '../../hooks';
import { confirm } from '../../dialogs';
import {
  aliasDeleteQuestion,
  allowedTransitions,
  IReleaseForm,
  QUANTIZATIONS,
  releaseBody,
  releaseLabel,
  Transition,
  transitionQuestion
} from '../../registry';
import type { Alias, Model, Release, ReleasePage } from '../../types';
import { FieldError, FormError, FormSection, TextField, useFormState } from './fields';
import { AuditHistory } from './history';
import { Tags } from './models';

/** How often an open model refreshes while shown. */
export const DETAIL_INTERVAL = 10000;
/** How often the alias form reads all releases (up to 2000) of a model with more than shown. */
export const ALL_RELEASES_INTERVAL = 30000;
/** Releases shown at first; "Show more" adds as many again. */
export const RELEASES_PAGE = 20;

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
        <span className="jp-mlops-reg-title">{name}</span>
      </div>
      {detail.error && (
        <div className="jp-mlops-error" role="alert">
          {detail.error.message}
        </div>
      )}
      {model && <ModelInfo model={model} />}

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
      {detail.data?.releases.next_cursor && (
        <button className="jp-mlops-button" onClick={() => setShown(shown + RELEASES_PAGE)}>
          Show more
        </button>
      )}
      <CreateReleaseForm {...props} />
      <Aliases
        context={context}
        name={name}
        active={active}
        aliases={aliases}
        releases={releases}
        more={!!detail.data?.releases.next_cursor}
      />
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
      </div>
      {!!facts.length && <div className="jp-mlops-muted">{facts.join(' · ')}</div>}
      {model.description && <div className="jp-mlops-message">{model.description}</div>}
      {!!model.tags.length && <Tags tags={model.tags} />}
    </div>
  );
}

const ACTION_LABELS: Record<Transition, string> = {
  promote: 'Promote',
  demote: 'Demote',
  deprecate: 'Deprecate'
};

/** A release: version, status, aliases, notes, and the transitions its status allows. */
function ReleaseRow(props: {
  context: IMLOpsContext;
  release: Release;
  aliases: string[];
}): JSX.Element {
  const { context, release } = props;
  const { busy, error, send } = useRowRequest(context);

  const run = async (action: Transition) => {
    const question = transitionQuestion(release, action);
    if (question && !(await confirm(question.title, question.body, question.accept))) {
      return;
    }
    await send(apiPath('releases', release.id, action), () => context.actions.emit(REFRESH));
  };

  return (
    <li
      className="jp-mlops-reg-row"
      data-testid="mlops-release-row"
      data-release-id={release.id}
      data-version={release.version}
      data-status={release.status}
    >
      <div className="jp-mlops-reg-head">
        <span className="jp-mlops-reg-name" title={`release #${release.id}`}>
          {releaseLabel(release)}
        </span>
        <span className={`jp-mlops-state jp-mlops-state-${release.status}`}>{release.status}</span>
        {props.aliases.map(alias => (
          <span key={alias} className="jp-mlops-reg-tag" title="alias">
            @{alias}
          </span>
        ))}
      </div>
      {release.release_notes && <div className="jp-mlops-message">{release.release_notes}</div>}
      <div className="jp-mlops-reg-head">
        <span className="jp-mlops-muted">
          #{release.id} · <span title={release.created_at}>{formatAgo(release.created_at)}</span>
          {release.auto_build && ' · auto build'}
        </span>
        <span className="jp-mlops-grow" />
        {allowedTransitions(release.status).map(action => (
          <button
            key={action}
            className={
              action === 'deprecate' ? 'jp-mlops-button jp-mlops-danger' : 'jp-mlops-button'
            }
            disabled={busy}
            data-testid={`mlops-release-${action}`}
            onClick={() => void run(action)}
          >
            {ACTION_LABELS[action]}
          </button>
        ))}
      </div>
      {error && (
        <div className="jp-mlops-error" role="alert">
          {error}
        </div>
      )}
    </li>
  );
}

const EMPTY_RELEASE: IReleaseForm = { version: '', quantization: '', notes: '', autoBuild: false };
const RELEASE_FIELDS = ['version', 'quantization', 'release_notes', 'auto_build'] as const;
const QUANTIZATION_LIST = 'jp-mlops-reg-quantizations';

/** New release of the model: version, quantization, notes, auto build. */
function CreateReleaseForm(props: IModelDetailProps): JSX.Element {
  const { context, name } = props;
  const [open, setOpen] = useState(true);
  const [values, setValues] = useState<IReleaseForm>(EMPTY_RELEASE);
  const [created, setCreated] = useState<Release>();
  const form = useFormState(RELEASE_FIELDS);
  const version = useRef<HTMLInputElement>(null);
  useFocusRequest(version, props.focus === 'release', props.active, props.onFocused, () =>
    setOpen(true)
  );

  const set = (key: keyof IReleaseForm) => (value: string | boolean) => {
    setCreated(undefined);
    setValues({ ...values, [key]: value });
  };
  const submit = () => {
    void form.submit(async () => {
      const release = await context.request<Release>('releases', {
        method: 'POST',
        json: releaseBody(name, values)
      });
      setValues(EMPTY_RELEASE);
      setCreated(release);
      context.actions.emit(REFRESH);
    });
  };
  const build = created?.build;

  return (
    <FormSection
      title="New release"
      open={open}
      onOpen={setOpen}
      onSubmit={submit}
      form={form}
      submitLabel="Create release"
      submitTestid="mlops-release-create"
      notice={
        created && (
          <span className="jp-mlops-message" data-testid="mlops-release-created">
            Created {releaseLabel(created)}
            {build && ` · build #${build.id} queued`}
            {!!build?.job_id && (
              <>
                {' '}
                <a
                  href="#"
                  onClick={e => {
                    e.preventDefault();
                    void context.app.commands.execute('mlops:show-job', { id: build.job_id });
                  }}
                >
                  show job
                </a>
              </>
            )}
          </span>
        )
      }
    >
      <TextField
        label="Version"
        field="version"
        testid="mlops-release-version"
        placeholder="1.0.0"
        value={values.version}
        onChange={set('version')}
        form={form}
        inputRef={version}
      />
      <TextField
        label="Quantization"
        field="quantization"
        testid="mlops-release-quantization"
        placeholder="none"
        list={QUANTIZATION_LIST}
        value={values.quantization}
        onChange={set('quantization')}
        form={form}
      />
      <datalist id={QUANTIZATION_LIST}>
        {QUANTIZATIONS.map(q => (
          <option key={q} value={q} />
        ))}
      </datalist>
      <TextField
        label="Notes"
        field="release_notes"
        testid="mlops-release-notes"
        placeholder="optional"
        multiline
        value={values.notes}
        onChange={set('notes')}
        form={form}
      />
      <label className="jp-mlops-reg-check">
        <input
          type="checkbox"
          data-testid="mlops-release-auto-build"
          checked={values.autoBuild}
          onChange={e => {
            form.clear('auto_build');
            set('autoBuild')(e.target.checked);
          }}
        />{' '}
        Build its image when created
      </label>
      <FieldError form={form} field="auto_build" />
    </FormSection>
  );
}

const ALIAS_FIELDS = ['alias', 'release_id'] as const;

/** The model's aliases: each with its release and a delete button; a form sets one. */
function Aliases(props: {
  context: IMLOpsContext;
  name: string;
  active: boolean;
  aliases: Alias[];
  /** The releases the page shows; with `more`, the form reads all of them itself. */
  releases: Release[];
  more: boolean;
}): JSX.Element {
  const { context, name, aliases } = props;
  const all = usePolled(
    context,
    () =>
      fetchItems<Release>((path, init) => context.request<ReleasePage>(path, init), 'releases', {
        model: name
      }),
    {
      name: 'registry-alias-releases',
      interval: ALL_RELEASES_INTERVAL,
      active: props.active && props.more
    }
  );
  const releases = props.more && all.data ? all.data : props.releases;
  const [alias, setAlias] = useState('');
  const [target, setTarget] = useState<number>();
  const deletion = useRowRequest(context);
  const form = useFormState(ALIAS_FIELDS);
  const byId = new Map(releases.map(r => [r.id, r]));
  const chosen = target ?? releases[0]?.id;

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    void form.submit(async () => {
      await context.request(apiPath('aliases', name, alias.trim()), {
        method: 'PUT',
        json: { release_id: chosen }
      });
      setAlias('');
      context.actions.emit(REFRESH);
    });
  };
  const remove = async (item: Alias) => {
    const question = aliasDeleteQuestion(name, item.alias);
    if (!(await confirm(question.title, question.body, question.accept))) {
      return;
    }
    await deletion.send(
      apiPath('aliases', name, item.alias),
      () => context.actions.emit(REFRESH),
      'DELETE'
    );
  };

  return (
    <div className="jp-mlops-reg-aliases">
      <div className="jp-mlops-reg-subtitle">Aliases</div>
      {!aliases.length && <div className="jp-mlops-muted">No aliases.</div>}
      <ul className="jp-mlops-list">
        {aliases.map(item => {
          const release = byId.get(item.release_id);
          return (
            <li
              key={item.alias}
              className="jp-mlops-reg-head jp-mlops-reg-alias"
              data-testid="mlops-alias-row"
              data-alias={item.alias}
              data-release-id={item.release_id}
            >
              <span className="jp-mlops-reg-name">@{item.alias}</span>
              <span className="jp-mlops-reg-ellipsis jp-mlops-grow">
                → {release ? releaseLabel(release) : `release #${item.release_id}`}
              </span>
              <button
                className="jp-mlops-button jp-mlops-danger"
                title={`Delete the alias ${item.alias}`}
                data-testid="mlops-alias-delete"
                disabled={deletion.busy}
                onClick={() => void remove(item)}
              >
                Delete
              </button>
            </li>
          );
        })}
      </ul>
      {deletion.error && (
        <div className="jp-mlops-error" role="alert">
          {deletion.error}
        </div>
      )}
      <form className="jp-mlops-reg-form" onSubmit={submit}>
        <input
          type="text"
          className="jp-mlops-reg-input"
          placeholder="alias, e.g. production"
          aria-label="Alias"
          aria-invalid={!!form.errors.fields.alias}
          data-testid="mlops-alias-name"
          value={alias}
          onChange={e => {
            form.clear('alias');
            setAlias(e.target.value);
          }}
        />
        <FieldError form={form} field="alias" />
        <div className="jp-mlops-reg-inline">
          <select
            className="jp-mlops-reg-select"
            aria-label="Release the alias points at"
            data-testid="mlops-alias-release"
            value={chosen ?? ''}
            onChange={e => {
              form.clear('release_id');
              setTarget(Number(e.target.value));
            }}
          >
            {releases.map(r => (
              <option key={r.id} value={r.id}>
                {releaseLabel(r)}
              </option>
            ))}
          </select>
          <button
            type="submit"
            className="jp-mlops-button"
            disabled={form.busy || !alias.trim() || chosen === undefined}
            data-testid="mlops-alias-set"
          >
            Set
          </button>
        </div>
        <FieldError form={form} field="release_id" />
        <FormError form={form} />
      </form>
    </div>
  );
}
