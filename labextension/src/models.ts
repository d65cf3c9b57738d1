/** Pure logic of the Models tab: the download form's body, rows of jobs and cached models. */
import { apiPath, Query } from './api';
import { formatBytes } from './format';
import { isActive } from './jobs';
import type { HubDeleted, HubModel, HubRevision, Job, PostHubDownloadsBody } from './types';

/** What the download form holds (as typed). */
export interface IDownloadForm {
  repo: string;
  revision: string;
  include: string;
  exclude: string;
}

export const EMPTY_FORM: IDownloadForm = { repo: '', revision: '', include: '', exclude: '' };

/** The server's name of each form input (errors name it in `field`). */
export const SERVER_FIELDS: Readonly<Record<keyof IDownloadForm, string>> = {
  repo: 'repo_id',
  revision: 'revision',
  include: 'allow_patterns',
  exclude: 'ignore_patterns'
};

/** Comma-separated globs as a list (`"*.json, *q4*"` -> `['*.json', '*q4*']`); none: undefined. */
export function splitGlobs(text: string): string[] | undefined {
  const globs = text
    .split(',')
    .map(part => part.trim())
    .filter(Boolean);
  return globs.length ? globs : undefined;
}

/** The POST hub/downloads body of the form (empty optional inputs left out). */
export function downloadBody(form: IDownloadForm): PostHubDownloadsBody {
  const body: PostHubDownloadsBody = { repo_id: form.repo.trim() };
  const revision = form.revision.trim();
  if (revision) {
    body.revision = revision;
  }
  const include = splitGlobs(form.include);
  if (include) {
    body.allow_patterns = include;
  }
  const exclude = splitGlobs(form.exclude);
  if (exclude) {
    body.ignore_patterns = exclude;
  }
  return body;
}

/** A download job's repo id, revision and globs, from its params. */
export function downloadOf(job: Job): {
  repo: string;
  revision: string;
  include: string[];
  exclude: string[];
} {
  const params = job.params;
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const list = (value: unknown) =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  return {
    repo: text(params.repo_id),
    revision: text(params.revision) || 'main',
    include: list(params.allow_patterns),
    exclude: list(params.ignore_patterns)
  };
}

/** Ids of the jobs still queued or running. */
export function activeIds(jobs: readonly Job[]): Set<number> {
  return new Set(jobs.filter(j => isActive(j.state)).map(j => j.id));
}

/** Whether a job that was active before (`before`) has ended in `jobs` (or left the page). */
export function anyEnded(before: ReadonlySet<number>, jobs: readonly Job[]): boolean {
  const now = activeIds(jobs);
  return [...before].some(id => !now.has(id));
}

/** A revision as people name it: its refs (`main`), else the short commit. */
export function revisionLabel(rev: Pick<HubRevision, 'refs' | 'commit'>): string {
  return rev.refs.length ? rev.refs.join(', ') : rev.commit.slice(0, 10);
}

/** What to delete: a revision (a commit) or, with `null`, the whole repo. */
export interface IDeleteChoice {
  revision: string | null;
  force: boolean;
}

/** The API path of a cached model: `hub/models/{org}/{name}`, or `hub/models/{name}` for a
 * single-part id (the Hub's legacy canonical models, as `gpt2`). */
export function hubModelPath(repoId: string): string {
  return apiPath('hub', 'models', ...repoId.split('/'));
}

/** The DELETE hub/models/{org}/{name} path and query of a choice. */
export function deleteRequest(
  model: Pick<HubModel, 'repo_id'>,
  choice: IDeleteChoice
): { path: string; query: Query } {
  return {
    path: hubModelPath(model.repo_id),
    query: {
      revision: choice.revision ?? undefined,
      force: choice.force ? true : undefined
    }
  };
}

/** What is said after a delete: `Deleted org/name@rev: 1.2 GB freed.` */
export function deletedText(
  deleted: Pick<HubDeleted, 'repo_id' | 'revision' | 'freed_bytes'>
): string {
  const what = deleted.revision ? `${deleted.repo_id}@${deleted.revision}` : deleted.repo_id;
  return `Deleted ${what}: ${formatBytes(deleted.freed_bytes)} freed.`;
}
