/** The form that starts a build of a release, with the server's errors inline. */
import React, { useRef, useState } from 'react';

import { fetchItems } from '../../api';
import { ErrorLine } from '../../components/errorline';
import {
  ACCELERATORS,
  Accelerator,
  buildBody,
  defaultTag,
  FieldErrors,
  formErrors,
  IBuildForm,
  releaseLabel,
  validateBuildForm
} from '../../builds';
import { ITabProps } from '../../context';
import { useAction, useFocusRequest, usePolled } from '../../hooks';
import type { Build, Release, ReleasePage } from '../../types';
import { FieldError } from './fields';

/** How often the release list of the start form is fetched again. */
export const RELEASES_INTERVAL = 30000;

const BUILD_FIELDS = ['release_id', 'accelerator', 'base_image', 'tag', 'no_cache'] as const;

export interface IStartFormProps extends ITabProps {
  onStarted(build: Build): void;
}

/** The form that starts a build of a release. */
export function StartForm(props: IStartFormProps): JSX.Element {
  const { context, active } = props;
  const [form, setForm] = useState<IBuildForm>({
    releaseId: '',
    accelerator: '',
    baseImage: '',
    tag: '',
    noCache: false
  });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [notice, setNotice] = useState<string>();
  const [starting, setStarting] = useState(false);
  const select = useRef<HTMLSelectElement>(null);

  const releases = usePolled(
    context,
    () => fetchItems<Release>((path, init) => context.request<ReleasePage>(path, init), 'releases'),
    { name: 'build releases', interval: RELEASES_INTERVAL, active }
  );
  // the tab may still be hidden when the action arrives: focus once shown
  const [focusPending, setFocusPending] = useState(false);
  useFocusRequest(select, focusPending, active, () => setFocusPending(false));
  useAction(context, 'builds:start', releaseId => {
    if (typeof releaseId === 'number' && Number.isInteger(releaseId) && releaseId > 0) {
      setForm(current => ({ ...current, releaseId: String(releaseId) }));
    }
    setFocusPending(true);
  });

  const change = (patch: Partial<IBuildForm>, field: string) => {
    setForm({ ...form, ...patch });
    setNotice(undefined);
    if (errors[field] || errors['']) {
      setErrors({ ...errors, [field]: '', '': '' });
    }
  };
  const release = releases.data?.find(r => String(r.id) === form.releaseId);
  const tagPlaceholder = release
    ? defaultTag(release.model, release.version, release.quantization)
    : 'model:version';

  const start = async (event: React.FormEvent) => {
    event.preventDefault();
    const invalid = validateBuildForm(form);
    setErrors(invalid);
    setNotice(undefined);
    if (Object.keys(invalid).length) {
      return;
    }
    setStarting(true);
    try {
      const build = await context.request<Build>('builds', {
        method: 'POST',
        json: buildBody(form)
      });
      setNotice(
        build.deduplicated
          ? `Build #${build.id} of this release and tag is already ${build.state}.`
          : `Build #${build.id} queued: ${build.tag}`
      );
      props.onStarted(build);
    } catch (reason) {
      setErrors(formErrors(reason, BUILD_FIELDS));
    } finally {
      setStarting(false);
    }
  };

  return (
    <form className="jp-mlops-builds-form" onSubmit={start}>
      <label>
        <span>Release</span>
        <select
          className="jp-mlops-input"
          ref={select}
          value={form.releaseId}
          title={release ? releaseLabel(release) : undefined}
          data-testid="mlops-build-release"
          onFocus={() => releases.refresh()}
          onChange={e => change({ releaseId: e.target.value }, 'release_id')}
        >
          <option value="">{releases.data ? 'Choose a release…' : 'Loading releases…'}</option>
          {releases.data?.map(r => (
            <option key={r.id} value={String(r.id)}>
              {releaseLabel(r)}
            </option>
          ))}
        </select>
      </label>
      <FieldError errors={errors} field="release_id" />
      {releases.error && <div className="jp-mlops-error">{releases.error.message}</div>}
      <label>
        <span>Accelerator</span>
        <select
          className="jp-mlops-input"
          value={form.accelerator}
          title="Base image family; default: the release's or model's accelerator, else rocm"
          data-testid="mlops-build-accelerator"
          onChange={e => change({ accelerator: e.target.value as Accelerator | '' }, 'accelerator')}
        >
          <option value="">default</option>
          {ACCELERATORS.map(a => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </label>
      <FieldError errors={errors} field="accelerator" />
      <label>
        <span>Base image</span>
        <input
          type="text"
          className="jp-mlops-input"
          value={form.baseImage}
          placeholder="default"
          title="default: the accelerator's base image"
          spellCheck={false}
          data-testid="mlops-build-base-image"
          onChange={e => change({ baseImage: e.target.value }, 'base_image')}
        />
      </label>
      <FieldError errors={errors} field="base_image" />
      <label>
        <span>Tag</span>
        <input
          type="text"
          className="jp-mlops-input"
          value={form.tag}
          placeholder={tagPlaceholder}
          title={`default: ${tagPlaceholder}`}
          spellCheck={false}
          data-testid="mlops-build-tag"
          onChange={e => change({ tag: e.target.value }, 'tag')}
        />
      </label>
      <FieldError errors={errors} field="tag" />
      <div className="jp-mlops-builds-form-actions">
        <label title="Build every layer afresh and never reuse an image">
          <input
            type="checkbox"
            checked={form.noCache}
            data-testid="mlops-build-no-cache"
            onChange={e => change({ noCache: e.target.checked }, 'no_cache')}
          />{' '}
          No cache
        </label>
        <span className="jp-mlops-grow" />
        <button
          type="submit"
          className="jp-mlops-button jp-mod-accept"
          disabled={starting}
          data-testid="mlops-build-start"
        >
          {starting ? 'Starting…' : 'Start build'}
        </button>
      </div>
      <FieldError errors={errors} field="no_cache" />
      <ErrorLine message={errors['']} testid="mlops-build-error" />
      {notice && <div className="jp-mlops-message">{notice}</div>}
    </form>
  );
}
