/** Pure logic of jobs, shared by every tab that shows one (a build and a push have the same states). */
import { formatPercent } from './format';
import type { Job } from './types';

/** Whether a job, build or push in `state` is still queued or running. */
export function isActive(state: string): boolean {
  return state === 'queued' || state === 'running';
}

/** Whether a job has ended (any final state). */
export function finished(job: Pick<Job, 'state'>): boolean {
  return !isActive(job.state);
}

/** Whether a job can still be cancelled (active, and no cancel asked yet). */
export function cancellable(job: Pick<Job, 'state' | 'cancel_requested'>): boolean {
  return isActive(job.state) && !job.cancel_requested;
}

/** A job's state with its progress when known: `running 40%`. */
export function jobState(job: Pick<Job, 'state' | 'progress'>): string {
  const percent = formatPercent(job.progress.fraction);
  return percent ? `${job.state} ${percent}` : job.state;
}
