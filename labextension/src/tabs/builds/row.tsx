/** A build in the Builds tab's list, and the open build with its pushes and live log. */
import React, { useEffect, useState } from 'react';

import { apiPath } from '../../api';
import { canPush, contextText, releaseLabel, shortImageId } from '../../builds';
import { ErrorLine } from '../../components/errorline';
import { LogView } from '../../components/logview';
import { ProgressBar } from '../../components/progress';
import { ITabProps } from '../../context';
import { formatAgo, formatBytes, formatDuration } from '../../format';
import { usePolled, useRowRequest } from '../../hooks';
import { isActive } from '../../jobs';
import type { Build } from '../../types';
import { PushForm, PushRow } from './push';

/** Ticks while a build (or the open build's push) is queued or running, and while none is. */
export const BUSY_INTERVAL = 2000;
export const IDLE_INTERVAL = 10000;

export interface IBuildRowProps extends ITabProps {
  build: Build;
  open: boolean;
  onToggle(): void;
  /** Called after a cancel, so the list updates. */
  onChanged?(): void;
  /** The open build's details under its summary. */
  children?: React.ReactNode;
}

/** A build: tag, state, release, image, size, duration and context; click for details and log. */
export function BuildRow(props: IBuildRowProps): JSX.Element {
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
      <ErrorLine message={error} />
      {props.children}
    </li>
  );
}

export interface ISelectedBuildProps extends ITabProps {
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
export function SelectedBuild(props: ISelectedBuildProps): JSX.Element {
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
