/**
 * Builds: start a Docker image build of a release, follow the builds (state,
 * image, size, duration, context), the live log of the one clicked, cancel,
 * and push a finished image to a registry.
 */
import React, { useEffect, useRef, useState } from 'react';

import { apiPath, fetchItems } from '../api';
import {
  ACCELERATORS,
  Accelerator,
  buildBody,
  canPush,
  contextText,
  defaultTag,
  emptyPushForm,
  FieldErrors,
  formErrors,
  IBuildForm,
  IPushForm,
  pushBody,
  pushReference,
  pushTarget,
  releaseLabel,
  shortImageId,
  splitImage,
  validateBuildForm,
  withoutRegistry
} from '../builds';
import { LogView } from '../components/logview';
import { ProgressBar } from '../components/progress';
import { IMLOpsContext, ITabAction, ITabProps } from '../context';
import { formatAgo, formatBytes, formatDuration } from '../format';
import {
  isIdOrNull,
  useAction,
  useFocusRequest,
  usePolled,
  useRowRequest,
  useSaved
} from '../hooks';
import { isActive } from '../jobs';
import { byId, IChoice, ITargetCommand, listItems } from '../targets';
import type { Build, BuildPage, BuildPush, Release, ReleasePage } from '../types';

/** Ticks while a build (or the open build's push) is queued or running, and while none is. */
export const BUSY_INTERVAL = 2000;
export const IDLE_INTERVAL = 10000;
/** How often the release list of the start form is fetched again. */
export const RELEASES_INTERVAL = 30000;
/** Builds shown at first; "Show more" adds as many again. */
export const PAGE = 25;

/** Palette actions of this tab (registered by `addCommands`). */
export const BUILDS_ACTIONS: readonly ITabAction[] = [
  {
    // optional args {release_id}: preselect that release in the form
    id: 'mlops:start-build',
    label: 'Start an MLOps Image Build',
    action: 'builds:start',
    args: args => (args.release_id === undefined ? undefined : Number(args.release_id))
  }
];

/** A build in a picker: `#7 m:1.0:int4 · succeeded · m:1.0-int4`. */
function buildChoice(build: Build): IChoice<Build> {
  return {
    label: `#${build.id} ${releaseLabel(build)} · ${build.state} · ${build.tag}`,
    value: build
  };
}

const showBuild = (build: Build) => ({ action: 'builds:show', args: build.id });

/** Palette commands of this tab on one build. */
export const BUILDS_TARGETS: readonly ITargetCommand<Build>[] = [
  {
    id: 'mlops:show-build',
    label: 'Show an MLOps Build and Its Log',
    title: 'Show which build?',
    none: 'No builds yet.',
    choices: async context => (await listItems<Build>(context, 'builds')).map(buildChoice),
    fromArgs: byId<Build>('builds'),
    show: showBuild
  },
  {
    id: 'mlops:cancel-build',
    label: 'Cancel an MLOps Image Build',
    title: 'Cancel which build?',
    none: 'No build is queued or running.',
    choices: async context =>
      (await listItems<Build>(context, 'builds', { active: true })).map(buildChoice),
    fromArgs: byId<Build>('builds'),
    run: async (context, build) => {
      await context.request(apiPath('builds', build.id, 'cancel'), { method: 'POST' });
      return `Cancelling build #${build.id} of ${releaseLabel(build)}.`;
    },
    show: showBuild
  },
  {
    id: 'mlops:push-build',
    label: 'Push an MLOps Image to a Registry…',
    title: 'Push the image of which build?',
    none: 'No finished build has an image to push.',
    choices: async context =>
      (await listItems<Build>(context, 'builds')).filter(canPush).map(buildChoice),
    fromArgs: (context, args) =>
      byId<Build>('builds')(context, args)?.then(build => {
        if (!canPush(build)) {
          throw new Error(`build #${build.id} has no image to push (it is ${build.state})`);
        }
        return build;
      }),
    show: build => ({ action: 'builds:push', args: build.id })
  }
];

/** The Builds tab. */
export function BuildsTab(props: ITabProps): JSX.Element {
  const { context, active } = props;
  const [limit, setLimit] = useState(PAGE);
  const [selected, setSelected] = useSaved<number | null>(
    context,
    'builds.build',
    null,
    isIdOrNull
  );
  const [busy, setBusy] = useState(true);

  const builds = usePolled(
    context,
    async () => {
      const page = await context.request<BuildPage>('builds', { query: { limit } });
      setBusy(page.items.some(build => isActive(build.state)));
      return page;
    },
    { name: 'builds', interval: busy ? BUSY_INTERVAL : IDLE_INTERVAL, active, deps: [limit] }
  );
  // a build the palette asked to push: selected with its push form open
  const [pushFirst, setPushFirst] = useState<number | null>(null);
  useAction(context, 'builds:show', id => {
    if (typeof id === 'number' && Number.isInteger(id) && id > 0) {
      setSelected(id);
    }
  });
  useAction(context, 'builds:push', id => {
    if (typeof id === 'number' && Number.isInteger(id) && id > 0) {
      setSelected(id);
      setPushFirst(id);
    }
  });

  const items = builds.data?.items ?? [];
  const toggle = (id: number) => setSelected(selected === id ? null : id);
  const row = (id: number, build?: Build) =>
    id === selected ? (
      <SelectedBuild
        key={id}
        id={id}
        listed={build}
        openPush={pushFirst === id}
        onPushOpened={() => setPushFirst(null)}
        onClose={() => setSelected(null)}
        onChanged={() => builds.refresh()}
        {...props}
      />
    ) : (
      <BuildRow key={id} build={build!} open={false} onToggle={() => toggle(id)} {...props} />
    );
  return (
    <div className="jp-mlops-builds">
      <StartForm context={context} active={active} onStarted={() => builds.refresh()} />
      <div className="jp-mlops-toolbar">
        <span className="jp-mlops-title">Builds</span>
        <button className="jp-mlops-button" title="Refresh now" onClick={() => builds.refresh()}>
          Refresh
        </button>
      </div>
      {builds.error && (
        <div className="jp-mlops-error" role="alert">
          {builds.error.message}
        </div>
      )}
      {builds.data && !items.length && selected === null && (
        <div className="jp-mlops-empty">No builds yet.</div>
      )}
      <ul className="jp-mlops-list">
        {/* a build shown from the palette that is not on the loaded page goes first */}
        {selected !== null && builds.data && !items.some(b => b.id === selected) && row(selected)}
        {items.map(build => row(build.id, build))}
      </ul>
      {builds.data?.next_cursor && (
        <button className="jp-mlops-button" onClick={() => setLimit(limit + PAGE)}>
          Show more
        </button>
      )}
    </div>
  );
}

/** An inline error under the input of `field` (test id `mlops-field-error`). */
function FieldError(props: { errors: FieldErrors; field: string }): JSX.Element | null {
  const message = props.errors[props.field];
  return message ? (
    <div className="jp-mlops-error" data-testid="mlops-field-error" data-field={props.field}>
      {message}
    </div>
  ) : null;
}

const BUILD_FIELDS = ['release_id', 'accelerator', 'base_image', 'tag', 'no_cache'] as const;

interface IStartFormProps extends ITabProps {
  onStarted(build: Build): void;
}

/** The form that starts a build of a release. */
function StartForm(props: IStartFormProps): JSX.Element {
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
          ref={select}
          value={form.releaseId}
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
          value={form.baseImage}
          placeholder="default for the accelerator"
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
          value={form.tag}
          placeholder={
            release
              ? defaultTag(release.model, release.version, release.quantization)
              : 'model:version'
          }
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
      {errors[''] && (
        <div className="jp-mlops-error" role="alert" data-testid="mlops-build-error">
          {errors['']}
        </div>
      )}
      {notice && <div className="jp-mlops-message">{notice}</div>}
    </form>
  );
}

interface IBuildRowProps extends ITabProps {
  build: Build;
  open: boolean;
  onToggle(): void;
  /** Called after a cancel, so the list updates. */
  onChanged?(): void;
  /** The open build's details under its summary. */
  children?: React.ReactNode;
}

/** A build: tag, state, release, image, size, duration and context; click for details and log. */
function BuildRow(props: IBuildRowProps): JSX.Element {
  const { build, open, context } = props;
  const { busy: cancelling, error, send } = useRowRequest(context);
  const running = isActive(build.state);

  const cancel = (event: React.MouseEvent) => {
    event.stopPropagation();
    void send(apiPath('builds', build.id, 'cancel'), props.onChanged);
  };

  const image = [
    build.image_id && `image ${shortImageId(build.image_id)}`,
    build.image_size !== null && formatBytes(build.image_size),
    formatDuration(build.duration_s),
    build.reused && 'reused',
    contextText(build)
  ].filter(Boolean);
  return (
    <li
      className="jp-mlops-build"
      data-testid="mlops-build-row"
      data-build-id={build.id}
      data-release-id={build.release_id ?? ''}
      data-state={build.state}
    >
      <div
        className="jp-mlops-build-summary"
        role="button"
        tabIndex={0}
        aria-expanded={open}
        title={open ? 'Hide the details' : 'Show the details and the log'}
        onClick={props.onToggle}
        onKeyDown={e =>
          e.target === e.currentTarget && (e.key === 'Enter' || e.key === ' ') && props.onToggle()
        }
      >
        <div className="jp-mlops-build-head">
          <span className="jp-mlops-build-tag" title={build.tag}>
            {build.tag}
          </span>
          <span className={`jp-mlops-state jp-mlops-state-${build.state}`}>{build.state}</span>
          {running && (
            <button
              className="jp-mlops-button jp-mlops-danger"
              disabled={cancelling}
              data-testid="mlops-build-cancel"
              onClick={cancel}
            >
              Cancel
            </button>
          )}
        </div>
        <div className="jp-mlops-muted">
          {releaseLabel(build)} · #{build.id} ·{' '}
          <span title={build.created_at}>{formatAgo(build.created_at)}</span>
        </div>
        {image.length > 0 && <div className="jp-mlops-muted">{image.join(' · ')}</div>}
        {running && build.progress && (
          <ProgressBar progress={build.progress} running={build.state === 'running'} />
        )}
        {(build.error || (running && build.message)) && (
          <div className={build.error ? 'jp-mlops-error' : 'jp-mlops-message'}>
            {build.error || build.message}
          </div>
        )}
      </div>
      {error && (
        <div className="jp-mlops-error" role="alert">
          {error}
        </div>
      )}
      {props.children}
    </li>
  );
}

interface ISelectedBuildProps extends ITabProps {
  id: number;
  /** The build as the list shows it (absent when it is not on the loaded page). */
  listed?: Build;
  /** The palette asked for the push form: open it (then `onPushOpened`). */
  openPush: boolean;
  onPushOpened(): void;
  onClose(): void;
  onChanged(): void;
}

/** The open build: its row, then its options, pushes, push form and one live log. */
function SelectedBuild(props: ISelectedBuildProps): JSX.Element {
  const { id, context, active } = props;
  const [busy, setBusy] = useState(true);
  const [pushing, setPushing] = useState(false);
  useEffect(() => {
    if (props.openPush) {
      setPushing(true);
      props.onPushOpened();
    }
  }, [props.openPush]);
  // the log shown: the build's (null) or a push job's
  const [pushJob, setPushJob] = useState<number | null>(null);

  const detail = usePolled(
    context,
    async () => {
      const build = await context.request<Build>(apiPath('builds', id));
      setBusy(isActive(build.state) || (build.pushes ?? []).some(p => isActive(p.state)));
      return build;
    },
    { name: `build ${id}`, interval: busy ? BUSY_INTERVAL : IDLE_INTERVAL, active }
  );
  const build = props.listed ?? detail.data;
  if (!build) {
    return (
      <li className="jp-mlops-build" data-testid="mlops-build-row" data-build-id={id}>
        <div className="jp-mlops-build-head">
          <span className="jp-mlops-muted">Build #{id}</span>
          <span className="jp-mlops-grow" />
          <button className="jp-mlops-button" onClick={props.onClose}>
            Close
          </button>
        </div>
        <div className={detail.error ? 'jp-mlops-error' : 'jp-mlops-muted'}>
          {detail.error?.message ?? 'Loading…'}
        </div>
      </li>
    );
  }
  const pushes = detail.data?.pushes ?? [];
  const options = build.options as Record<string, unknown>;
  const summary = [
    options.accelerator,
    options.dockerfile === 'generated' ? `base ${options.base_image}` : 'own Dockerfile',
    options.no_cache && 'no cache',
    options.platform
  ].filter(Boolean);
  const check = build.run_check as { exit_code?: number; error?: string } | null;
  const changed = () => {
    detail.refresh();
    props.onChanged();
  };
  return (
    <BuildRow
      build={build}
      open={true}
      onToggle={props.onClose}
      onChanged={changed}
      context={context}
      active={active}
    >
      <div className="jp-mlops-build-detail">
        <div className="jp-mlops-build-bar">
          <span className="jp-mlops-muted jp-mlops-grow">{summary.join(' · ')}</span>
          {canPush(build) && (
            <button
              className="jp-mlops-button"
              aria-expanded={pushing}
              data-testid="mlops-build-push"
              onClick={() => setPushing(!pushing)}
            >
              Push…
            </button>
          )}
        </div>
        {check && (
          <div className={check.exit_code === 0 ? 'jp-mlops-muted' : 'jp-mlops-error'}>
            run check: {check.error ?? `exit ${check.exit_code}`}
          </div>
        )}
        {pushing && (
          <PushForm
            context={context}
            build={build}
            onCancel={() => setPushing(false)}
            onPushed={push => {
              setPushing(false);
              setPushJob(push.job_id);
              detail.refresh();
            }}
          />
        )}
        {pushes.length > 0 && (
          <ul className="jp-mlops-list" data-testid="mlops-build-pushes">
            {pushes.map(push => (
              <PushRow
                key={push.id}
                push={push}
                shown={push.job_id !== null && push.job_id === pushJob}
                onShow={() => setPushJob(push.job_id)}
              />
            ))}
          </ul>
        )}
        <div className="jp-mlops-build-bar">
          <span className="jp-mlops-muted jp-mlops-grow">
            {pushJob === null ? 'Build log' : 'Push log'}
          </span>
          {pushJob !== null && (
            <button className="jp-mlops-button" onClick={() => setPushJob(null)}>
              Show build log
            </button>
          )}
        </div>
        <LogView
          context={context}
          path={pushJob === null ? apiPath('builds', id, 'log') : apiPath('jobs', pushJob, 'log')}
          active={active}
        />
      </div>
    </BuildRow>
  );
}

/** One push of the open build: reference@digest and state; click to follow its log. */
function PushRow(props: { push: BuildPush; shown: boolean; onShow(): void }): JSX.Element {
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

interface IPushFormProps {
  context: IMLOpsContext;
  build: Build;
  onCancel(): void;
  onPushed(push: BuildPush): void;
}

/** Push the build's image to a registry. The password is held in this form only and
 * cleared after every submit; the server never stores it either. */
function PushForm(props: IPushFormProps): JSX.Element {
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
          value={form[field]}
          spellCheck={false}
          data-testid={`mlops-push-${field}`}
          onChange={e => change({ [field]: e.target.value }, field)}
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
      {errors[''] && (
        <div className="jp-mlops-error" role="alert" data-testid="mlops-push-error">
          {errors['']}
        </div>
      )}
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
