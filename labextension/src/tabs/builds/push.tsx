/** Pushes of a finished build: one row each, and the form that pushes its image. */
import React, { useState } from 'react';

import { apiPath } from '../../api';
import { ErrorLine } from '../../components/errorline';
import {
  emptyPushForm,
  FieldErrors,
  formErrors,
  IPushForm,
  pushBody,
  pushReference,
  pushTarget,
  splitImage,
  withoutRegistry
} from '../../builds';
import { IMLOpsContext } from '../../context';
import type { Build, BuildPush } from '../../types';
import { FieldError } from './fields';

/** One push of the open build: reference@digest and state; click to follow its log. */
export function PushRow(props: { push: BuildPush; shown: boolean; onShow(): void }): JSX.Element {
  const { push, shown } = props;
  const reference = pushReference(push);
  return (
    <li
      className={shown ? 'jp-mlops-build-push jp-mod-selected' : 'jp-mlops-build-push'}
      data-testid="mlops-build-push-row"
      data-push-id={push.id}
      data-state={push.state}
      role={push.job_id === null ? undefined : 'button'}
      tabIndex={push.job_id === null ? undefined : 0}
      title={push.job_id === null ? reference : `${reference}\nShow the push log`}
      onClick={() => push.job_id !== null && props.onShow()}
      onKeyDown={e =>
        push.job_id !== null && (e.key === 'Enter' || e.key === ' ') && props.onShow()
      }
    >
      <span className="jp-mlops-build-reference">{reference}</span>
      <span className={`jp-mlops-state jp-mlops-state-${push.state}`}>{push.state}</span>
      {push.error && <div className="jp-mlops-error">{push.error}</div>}
    </li>
  );
}

const PUSH_FIELDS = ['registry', 'repository', 'tag', 'username', 'password'] as const;

export interface IPushFormProps {
  context: IMLOpsContext;
  build: Build;
  onCancel(): void;
  onPushed(push: BuildPush): void;
}

/** Push the build's image to a registry. The password is held in this form only and
 * cleared after every submit; the server never stores it either. */
export function PushForm(props: IPushFormProps): JSX.Element {
  const { context, build } = props;
  const [form, setForm] = useState<IPushForm>(emptyPushForm);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [sending, setSending] = useState(false);
  const [repository, tag] = splitImage(build.tag);
  const target = pushTarget(form, build.tag);

  const change = (patch: Partial<IPushForm>, field: string) => {
    setForm({ ...form, ...patch });
    if (errors[field] || errors['']) {
      setErrors({ ...errors, [field]: '', '': '' });
    }
  };
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setSending(true);
    setErrors({});
    try {
      const push = await context.request<BuildPush>(apiPath('builds', build.id, 'push'), {
        method: 'POST',
        json: pushBody(form)
      });
      props.onPushed(push);
    } catch (reason) {
      setErrors(formErrors(reason, PUSH_FIELDS));
    } finally {
      setForm(current => ({ ...current, password: '' }));
      setSending(false);
    }
  };
  const input = (
    field: keyof IPushForm & (typeof PUSH_FIELDS)[number],
    label: string,
    extra: React.InputHTMLAttributes<HTMLInputElement>
  ) => (
    <>
      <label>
        <span>{label}</span>
        <input
          type="text"
          className="jp-mlops-input"
          value={form[field]}
          spellCheck={false}
          data-testid={`mlops-push-${field}`}
          onChange={e => change({ [field]: e.target.value }, field)}
          title={extra.placeholder}
          {...extra}
        />
      </label>
      <FieldError errors={errors} field={field} />
    </>
  );
  return (
    <form className="jp-mlops-builds-form jp-mlops-builds-push-form" onSubmit={submit}>
      {input('registry', 'Registry', { placeholder: 'host[:port], e.g. ghcr.io', autoFocus: true })}
      {input('repository', 'Repository', { placeholder: withoutRegistry(repository) })}
      {input('tag', 'Tag', { placeholder: tag })}
      {input('username', 'Username', { placeholder: 'none', autoComplete: 'off' })}
      {input('password', 'Password', {
        type: 'password',
        placeholder: 'password or token',
        autoComplete: 'new-password'
      })}
      {target && <div className="jp-mlops-muted">pushes {target}</div>}
      <ErrorLine message={errors['']} testid="mlops-push-error" />
      <div className="jp-mlops-builds-form-actions">
        <span className="jp-mlops-grow" />
        <button type="button" className="jp-mlops-button" onClick={props.onCancel}>
          Cancel
        </button>
        <button
          type="submit"
          className="jp-mlops-button jp-mod-accept"
          disabled={sending}
          data-testid="mlops-push-start"
        >
          {sending ? 'Pushing…' : 'Push'}
        </button>
      </div>
    </form>
  );
}
