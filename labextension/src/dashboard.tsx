/** The header above the tabs: counts, recent releases and deployments, disk. */
import React from 'react';

import { IMLOpsContext } from './context';
import { formatAgo, formatBytes, formatPercent } from './format';
import { usePolled } from './hooks';
import { releaseLabel } from './registry';
import type { Dashboard, DiskUsage } from './types';
import { folderName, storeLabel } from './workspace';

/** How often the header refreshes while the panel is shown. */
export const DASHBOARD_INTERVAL = 15000;
/** Recent releases and deployments shown. */
const RECENT = 3;

/** The dashboard header; polls only while `active` (the panel is shown). */
export function DashboardHeader(props: { context: IMLOpsContext; active: boolean }): JSX.Element {
  const { context, active } = props;
  const board = usePolled(context, () => context.request<Dashboard>('dashboard'), {
    name: 'dashboard',
    interval: DASHBOARD_INTERVAL,
    active
  });
  const data = board.data;
  return (
    <div className="jp-mlops-dashboard" data-testid="mlops-dashboard">
      {board.error && <div className="jp-mlops-error">{board.error.message}</div>}
      {data && (
        <>
          {data.workspace && <Workspace workspace={data.workspace} />}
          <div className="jp-mlops-counts">
            <Count name="models" label="models" value={data.counts.models} />
            <Count
              name="releases"
              label="releases"
              value={data.counts.releases}
              detail={`${data.counts.releases_by_status.released} released`}
            />
            <Count
              name="deployments"
              label="deployments"
              value={data.counts.deployments}
              detail={`${data.counts.deployments_by_status.active} active`}
            />
            <Count
              name="jobs"
              label="active jobs"
              value={data.jobs.running + data.jobs.queued}
              detail={`${data.jobs.running} running, ${data.jobs.queued} queued`}
            />
          </div>
          <Recent data={data} />
          <DiskBar
            label="Workspace disk"
            place={data.storage.workspace}
            models={data.storage.models}
          />
        </>
      )}
    </div>
  );
}

/** Which registry this is: the workspace folder's name and the store, each in a word, in full
 * in their tooltips. */
function Workspace(props: { workspace: Dashboard['workspace'] }): JSX.Element {
  const { path, store } = props.workspace;
  return (
    <div className="jp-mlops-workspace jp-mlops-muted" data-testid="mlops-workspace">
      <span
        className="jp-mlops-workspace-part jp-mlops-workspace-folder"
        title={`Workspace ${path}`}
      >
        {folderName(path)}
      </span>
      <span>·</span>
      <span className="jp-mlops-workspace-part" title={`Store ${store}`}>
        {storeLabel(store)}
      </span>
    </div>
  );
}

/** One count; `name` is its `data-key` (models, releases, deployments, jobs). */
function Count(props: {
  name: string;
  label: string;
  value: number;
  detail?: string;
}): JSX.Element {
  return (
    <div
      className="jp-mlops-count"
      title={props.detail}
      data-testid="mlops-dashboard-count"
      data-key={props.name}
    >
      <span className="jp-mlops-count-value">{props.value}</span>
      <span className="jp-mlops-count-label">{props.label}</span>
    </div>
  );
}

function Recent(props: { data: Dashboard }): JSX.Element | null {
  const { recent_releases: releases, recent_deployments: deployments } = props.data;
  if (!releases.length && !deployments.length) {
    return null;
  }
  const model = new Map(releases.map(r => [r.id, r.model]));
  return (
    <div className="jp-mlops-recent">
      {releases.slice(0, RECENT).map(r => (
        <div key={`r${r.id}`} className="jp-mlops-recent-item" title={r.created_at}>
          <span title={`${r.model} ${releaseLabel(r)}`}>
            {r.model} {releaseLabel(r)}
          </span>
          <span className={`jp-mlops-state jp-mlops-state-${r.status}`}>{r.status}</span>
          <span className="jp-mlops-muted">{formatAgo(r.created_at)}</span>
        </div>
      ))}
      {deployments.slice(0, RECENT).map(d => {
        const text = `${model.get(d.release_id) ?? `release #${d.release_id}`} → ${d.environment}`;
        return (
          <div key={`d${d.id}`} className="jp-mlops-recent-item" title={d.created_at}>
            <span title={text}>{text}</span>
            <span className={`jp-mlops-state jp-mlops-state-${d.status}`}>{d.status}</span>
            <span className="jp-mlops-muted">{formatAgo(d.updated_at)}</span>
          </div>
        );
      })}
    </div>
  );
}

/** Disk used (the models' share marked) and free on the workspace's file system. */
export function DiskBar(props: {
  label: string;
  place: DiskUsage;
  models: DiskUsage;
}): JSX.Element {
  const { place, models } = props;
  const total = place.disk_total_bytes || 1;
  const used = place.disk_used_bytes / total;
  const sameDisk = models.disk_total_bytes === place.disk_total_bytes;
  const modelShare = sameDisk ? Math.min(used, models.used_bytes / total) : 0;
  return (
    <div className="jp-mlops-disk" data-testid="mlops-disk" title={place.path}>
      <div className="jp-mlops-disk-label">
        <span>{props.label}</span>
        <span>
          {formatBytes(place.disk_free_bytes)} free of {formatBytes(place.disk_total_bytes)}
        </span>
      </div>
      <div
        className="jp-mlops-disk-track"
        role="meter"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(used * 100)}
        aria-label={`disk ${formatPercent(used)} used`}
      >
        <div className="jp-mlops-disk-used" style={{ width: formatPercent(used) }} />
        {modelShare > 0 && (
          <div className="jp-mlops-disk-models" style={{ width: formatPercent(modelShare) }} />
        )}
      </div>
      <div className="jp-mlops-muted">
        models {formatBytes(models.used_bytes)} · workspace state {formatBytes(place.used_bytes)}
      </div>
    </div>
  );
}
