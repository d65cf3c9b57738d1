/** Pure logic of a model's storage: its size as its last scan found it, the publish form's
 * body, and one line for a scan or publish job's outcome. */
import { formatBytes } from './format';
import type { Job, Model, PostStoragePublishesBody } from './types';

/** What the publish form holds (as typed). */
export interface IPublishForm {
  /** s3://bucket/prefix */
  destination: string;
  /** A folder or hf:// reference ('' for the model's own storage_path). */
  source: string;
}

export const EMPTY_PUBLISH: IPublishForm = { destination: '', source: '' };

/** `12 files · 1.4 GB`, or '' when the model was never scanned. */
export function storedText(stored: Model['stored']): string {
  if (!stored) {
    return '';
  }
  const files = `${stored.files.toLocaleString()} file${stored.files === 1 ? '' : 's'}`;
  return `${files} · ${formatBytes(stored.bytes)}`;
}

/** The POST storage/publishes body: text trimmed, the source left out when empty. */
export function publishBody(model: string, form: IPublishForm): PostStoragePublishesBody {
  const body: PostStoragePublishesBody = { destination: form.destination.trim(), model };
  if (form.source.trim()) {
    body.source = form.source.trim();
  }
  return body;
}

/** Whether a job is still to finish. */
export function isActive(job: Pick<Job, 'state'>): boolean {
  return job.state === 'queued' || job.state === 'running';
}

function count(result: Record<string, unknown>, key: string): number {
  const value = result[key];
  return typeof value === 'number' ? value : 0;
}

/** One line for a finished scan or publish: what changed, or why it failed. */
export function storageOutcome(job: Pick<Job, 'kind' | 'state' | 'error' | 'result'>): string {
  if (job.state !== 'succeeded') {
    return job.error ? `${job.state}: ${job.error}` : job.state;
  }
  const r = job.result ?? {};
  if (job.kind === 'storage.scan') {
    const changes = [
      `${count(r, 'added_count')} added`,
      `${count(r, 'changed_count')} changed`,
      `${count(r, 'removed_count')} removed`,
      `${count(r, 'unchanged')} unchanged`
    ];
    return `Scanned ${count(r, 'files')} files (${formatBytes(count(r, 'bytes'))}): ${changes.join(', ')}`;
  }
  const sent = count(r, 'uploaded_files');
  const kept = count(r, 'skipped_files');
  return (
    `Published ${count(r, 'files')} files (${formatBytes(count(r, 'bytes'))}) to ${String(r.destination ?? '')}: ` +
    `${sent} uploaded${kept ? `, ${kept} already there` : ''}`
  );
}
