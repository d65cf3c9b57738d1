/** A release's MLflow run: the types of what the server answers, and how the sidebar shows it. */
import type { PostReleasesBody, Release } from './types';

// The backend of issue 15 adds a release's `mlflow_run` and `GET releases/{id}/run`. Until
// types.ts is regenerated from it, they are declared here: then use the generated `Release`,
// `PostReleasesBody` and the run's schema, and delete these three.

/** A release with the MLflow run it came from (a run id or a `runs:/<id>/...` URI). */
export type ReleaseWithRun = Release & { mlflow_run?: string | null };

/** POST releases with the run it came from. */
export type PostReleasesBodyWithRun = PostReleasesBody & { mlflow_run?: string };

/** GET releases/{id}/run: the run as the tracking server has it. */
export interface IMLflowRun {
  run_id: string;
  experiment_id: string;
  run_name: string | null;
  status: string;
  /** When it started and ended: an ISO time or milliseconds since 1970 (MLflow's own). */
  start_time: string | number | null;
  end_time: string | number | null;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** The run's page on the tracking server. */
  url: string | null;
}

/** The run id of a run reference: `runs:/abc/model` -> `abc`, `abc` -> `abc`. */
export function runIdOf(reference: string): string {
  const found = /^runs:\/+([^/]+)/.exec(reference.trim());
  return found ? found[1] : reference.trim();
}

/** A run time as an ISO string (for `formatAgo` and tooltips), '' when unknown. */
export function runTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') {
    return '';
  }
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

/** How long a run took in seconds, or null while it runs or when unknown. */
export function runSeconds(run: Pick<IMLflowRun, 'start_time' | 'end_time'>): number | null {
  const start = runTime(run.start_time);
  const end = runTime(run.end_time);
  const seconds = (new Date(end).getTime() - new Date(start).getTime()) / 1000;
  return start && end && Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/** A metric's value, short: whole numbers as they are, others to 4 significant digits. */
export function formatMetric(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** A record's entries by name. */
export function byName<T>(record: Record<string, T> | null | undefined): Array<[string, T]> {
  return Object.entries(record ?? {}).sort(([a], [b]) => a.localeCompare(b));
}
