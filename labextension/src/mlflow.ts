/** How the sidebar shows a release's MLflow run. */
import type { MlflowRun } from './types';

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
export function runSeconds(run: Pick<MlflowRun, 'start_time' | 'end_time'>): number | null {
  const start = runTime(run.start_time);
  const end = runTime(run.end_time);
  const seconds = (new Date(end).getTime() - new Date(start).getTime()) / 1000;
  return start && end && Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/** A metric's value, short: whole numbers as they are, others to 4 significant digits; a
 * value JSON cannot hold as a number (NaN, Infinity) comes as text and is shown as it is. */
export function formatMetric(value: number | string | null): string {
  if (typeof value !== 'number') {
    return value ?? '';
  }
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** A record's entries by name. */
export function byName<T>(record: Record<string, T> | null | undefined): Array<[string, T]> {
  return Object.entries(record ?? {}).sort(([a], [b]) => a.localeCompare(b));
}
