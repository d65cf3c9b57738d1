/** A model's aliases: each with its release, a rollback and a delete button; the form that
 * sets one; and their timeline. */
import React, { useState } from 'react';

import { REFRESH } from '../../actions';
import { apiPath } from '../../api';
import { ErrorLine } from '../../components/errorline';
import { IMLOpsContext } from '../../context';
import { confirm } from '../../dialogs';
import { usePolled, useRowRequest } from '../../hooks';
import { aliasDeleteQuestion, releaseLabel, rollbackQuestion } from '../../registry';
import type { Alias, AliasHistory, Release } from '../../types';
import { DeleteButton, FieldError, FormError, useFormState } from './fields';
import { AliasTimeline, TIMELINE_PAGE } from './timeline';

/** How often the timeline (and where each alias rolls back to) is read again while shown. */
export const TIMELINE_INTERVAL = 10000;

const ALIAS_FIELDS = ['alias', 'release_id'] as const;

/** The model's aliases: each with its release, rollback and delete buttons; a form sets
 * one; their timeline below. */
export function Aliases(props: {
  context: IMLOpsContext;
  name: string;
  active: boolean;
  aliases: Alias[];
  /** Every release of the model (the form's select). */
  releases: Release[];
}): JSX.Element {
  const { context, name, aliases, releases } = props;
  const [alias, setAlias] = useState('');
  const [target, setTarget] = useState<number>();
  const deletion = useRowRequest(context);
  const rollback = useRowRequest(context);
  const form = useFormState(ALIAS_FIELDS);
  const byId = new Map(releases.map(r => [r.id, r]));
  const chosen = target ?? releases[0]?.id;
  const [shown, setShown] = useState(TIMELINE_PAGE);
  const history = usePolled(
    context,
    () =>
      context.request<AliasHistory>(apiPath('models', name, 'alias-history'), {
        query: { limit: shown }
      }),
    {
      name: 'registry-alias-history',
      interval: TIMELINE_INTERVAL,
      active: props.active,
      deps: [shown]
    }
  );
  const rollbackTo = history.data?.rollback_to ?? {};

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

  const rollBack = async (item: Alias, to: number) => {
    const question = rollbackQuestion(name, item.alias, item.release_id, to, byId);
    if (!(await confirm(question.title, question.body, question.accept))) {
      return;
    }
    await rollback.send(apiPath('aliases', name, item.alias, 'rollback'), () =>
      context.actions.emit(REFRESH)
    );
  };

  return (
    <div className="jp-mlops-reg-aliases">
      <div className="jp-mlops-reg-subtitle">Aliases</div>
      {!aliases.length && <div className="jp-mlops-muted">No aliases.</div>}
      <ul className="jp-mlops-list">
        {aliases.map(item => {
          const release = byId.get(item.release_id);
          const target = release ? releaseLabel(release) : `release #${item.release_id}`;
          const back = rollbackTo[item.alias];
          return (
            <li
              key={item.alias}
              className="jp-mlops-reg-head jp-mlops-reg-alias"
              data-testid="mlops-alias-row"
              data-alias={item.alias}
              data-release-id={item.release_id}
            >
              <span className="jp-mlops-reg-wrap jp-mlops-grow">
                <b>@{item.alias}</b> → {target}
              </span>
              {typeof back === 'number' && (
                <button
                  className="jp-mlops-button"
                  title={`Move ${item.alias} back to release #${back}`}
                  data-testid="mlops-alias-rollback"
                  data-rollback-to={back}
                  disabled={rollback.busy}
                  onClick={() => void rollBack(item, back)}
                >
                  Roll back
                </button>
              )}
              <DeleteButton
                title={`Delete the alias ${item.alias}`}
                testid="mlops-alias-delete"
                busy={deletion.busy}
                onClick={() => void remove(item)}
              />
            </li>
          );
        })}
      </ul>
      <ErrorLine message={deletion.error ?? rollback.error} />
      <form className="jp-mlops-reg-form" onSubmit={submit}>
        <input
          type="text"
          className="jp-mlops-input"
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
            className="jp-mlops-input"
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
      <ErrorLine message={history.error?.message} />
      <AliasTimeline
        events={history.data?.items ?? []}
        more={!!history.data?.next_cursor}
        onMore={() => setShown(shown + TIMELINE_PAGE)}
      />
    </div>
  );
}
