/** Pure logic of the Registry tab: request bodies from forms, inline errors, the release
 * lifecycle, paging and the audit history's wording. */
import { APIError } from './api';
import type { AliasEvent, AuditEvent, PostModelsBody, PostReleasesBody, Release } from './types';

export type ReleaseStatus = Release['status'];
export type Transition = 'promote' | 'demote' | 'deprecate';

/** The lifecycle as the server has it: action -> (statuses it starts from, status it leads to). */
export const TRANSITIONS: Readonly<
  Record<Transition, { from: ReleaseStatus[]; to: ReleaseStatus }>
> = {
  promote: { from: ['candidate', 'demoted'], to: 'released' },
  demote: { from: ['released'], to: 'demoted' },
  deprecate: { from: ['candidate', 'released', 'demoted'], to: 'deprecated' }
};

/** The transitions a release in `status` can take, in button order. */
export function allowedTransitions(status: ReleaseStatus): Transition[] {
  return (Object.keys(TRANSITIONS) as Transition[]).filter(t =>
    TRANSITIONS[t].from.includes(status)
  );
}

/** Tags typed as `a, b c` -> `['a', 'b', 'c']` (empty ones and repeats dropped). */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** What the create-model form holds. */
export interface IModelForm {
  name: string;
  storagePath: string;
  baseModel: string;
  tags: string;
}

/** The POST /models body: names trimmed, empty optional fields left out. */
export function modelBody(form: IModelForm): PostModelsBody {
  const body: PostModelsBody = { name: form.name.trim(), storage_path: form.storagePath.trim() };
  if (form.baseModel.trim()) {
    body.base_model = form.baseModel.trim();
  }
  const tags = parseTags(form.tags);
  if (tags.length) {
    body.tags = tags;
  }
  return body;
}

/** What the create-release form holds. */
export interface IReleaseForm {
  version: string;
  quantization: string;
  notes: string;
  autoBuild: boolean;
  /** The MLflow run it came from: a run id or a `runs:/<id>/...` URI. */
  mlflowRun: string;
}

/** The POST /releases body of `model`; no quantization means the server's `none`. */
export function releaseBody(model: string, form: IReleaseForm): PostReleasesBody {
  const body: PostReleasesBody = { model, version: form.version.trim() };
  if (form.quantization.trim()) {
    body.quantization = form.quantization.trim();
  }
  if (form.notes.trim()) {
    body.release_notes = form.notes.trim();
  }
  if (form.autoBuild) {
    body.auto_build = true;
  }
  if (form.mlflowRun.trim()) {
    body.mlflow_run = form.mlflowRun.trim();
  }
  return body;
}

/** What to say when the server stored another spelling of the quantization typed
 * (`Q4_K_M` stored as `gguf-q4_k_m`); null when it kept it as typed or none was typed. */
export function quantizationStored(typed: string, stored: string): string | null {
  const text = typed.trim();
  return text && text !== stored ? `quantization ${text} is stored as ${stored}` : null;
}

/** A failed submit, split for display: the message of a field the form shows goes next to
 * that input (without the `field: ` prefix the server puts first), anything else above. */
export interface IFormErrors {
  fields: { [field: string]: string };
  general?: string;
}

/** `error` placed on the form whose inputs are named `fields` (`tags[2]` counts as `tags`). */
export function formErrors(error: APIError, fields: readonly string[]): IFormErrors {
  const field = error.field?.replace(/\[\d+\]$/, '');
  if (field && fields.includes(field)) {
    const prefix = `${error.field}: `;
    const message = error.message.startsWith(prefix)
      ? error.message.slice(prefix.length)
      : error.message;
    return { fields: { [field]: message } };
  }
  return { fields: {}, general: error.message };
}

/** Whether `model` matches the search `text` as the server's `q` does (name or description
 * holds it, any case): the list narrows at once while the search request is on its way. */
export function matchesSearch(
  model: { name: string; description: string | null },
  text: string
): boolean {
  const needle = text.trim().toLowerCase();
  return (
    !needle ||
    model.name.toLowerCase().includes(needle) ||
    (model.description ?? '').toLowerCase().includes(needle)
  );
}

/** A release as people name it: `1.0.0`, or `1.0.0 (int4)` when quantized. */
export function releaseLabel(release: { version: string; quantization: string }): string {
  return release.quantization && release.quantization !== 'none'
    ? `${release.version} (${release.quantization})`
    : release.version;
}

/** A question put before an action: title, text and the accepting button's label. */
export interface IQuestion {
  title: string;
  body: string;
  accept: string;
}

/** What to ask before `action` on `release`; null when it needs no confirmation
 * (only deprecating cannot be undone). */
export function transitionQuestion(
  release: Pick<Release, 'model' | 'version' | 'quantization'>,
  action: Transition
): IQuestion | null {
  if (action !== 'deprecate') {
    return null;
  }
  return {
    title: 'Deprecate release',
    body: `Deprecate ${release.model} ${releaseLabel(release)}? A deprecated release cannot be promoted again.`,
    accept: 'Deprecate'
  };
}

/** What to ask before deleting alias `alias` of `model`. */
export function aliasDeleteQuestion(model: string, alias: string): IQuestion {
  return { title: 'Delete alias', body: `Delete the alias ${model}@${alias}?`, accept: 'Delete' };
}

/** A release named by id, with its label when known: `1.0 (int4) #3`, or `release #3`. */
export function targetLabel(
  id: number,
  release?: { version: string; quantization: string }
): string {
  return release ? `${releaseLabel(release)} #${id}` : `release #${id}`;
}

/** What to ask before rolling `model@alias` back from release `from` to release `to`
 * (`labels` names the releases known by id). */
export function rollbackQuestion(
  model: string,
  alias: string,
  from: number,
  to: number,
  labels: ReadonlyMap<number, { version: string; quantization: string }> = new Map()
): IQuestion {
  return {
    title: 'Roll back alias',
    body: `Move ${model}@${alias} back from ${targetLabel(from, labels.get(from))} to ${targetLabel(to, labels.get(to))}?`,
    accept: 'Roll back'
  };
}

/** What is said after a rollback: `llama@production is back on 1.0 (int4) #3.` */
export function rollbackDone(event: AliasEvent): string {
  const target = event.release_id ?? 0;
  const label = event.version
    ? targetLabel(target, { version: event.version, quantization: event.quantization ?? 'none' })
    : targetLabel(target);
  return `${event.model}@${event.alias} is back on ${label}.`;
}

/** One line of an alias timeline: `@production moved #1 → 2.0 #2`, `@staging deleted (was #3)`. */
export function aliasEventSummary(event: AliasEvent): string {
  const target =
    event.release_id === null
      ? ''
      : targetLabel(
          event.release_id,
          event.version === null
            ? undefined
            : { version: event.version, quantization: event.quantization ?? 'none' }
        );
  const was = event.previous_release_id === null ? '' : `#${event.previous_release_id}`;
  switch (event.action) {
    case 'delete':
      return `@${event.alias} deleted (was ${was})`;
    case 'set':
      return `@${event.alias} set → ${target}`;
    case 'import':
      return `@${event.alias} imported → ${target}${was && ` (was ${was})`}`;
    case 'rollback':
      return `@${event.alias} rolled back ${was} → ${target}`;
    default:
      return `@${event.alias} moved ${was} → ${target}`;
  }
}

/** What is said after `action` on `release`: `Promoted m 1.0 (int4).` */
export function transitionDone(
  release: Pick<Release, 'model' | 'version' | 'quantization'>,
  action: Transition
): string {
  const past = PAST[action];
  return `${past[0].toUpperCase()}${past.slice(1)} ${release.model} ${releaseLabel(release)}.`;
}

const PAST: { [action: string]: string } = {
  create: 'created',
  update: 'updated',
  delete: 'deleted',
  promote: 'promoted',
  demote: 'demoted',
  deprecate: 'deprecated'
};

/** The keys whose values differ between two states (timestamps left out). */
export function changedKeys(
  before: { [key: string]: unknown } | null,
  after: { [key: string]: unknown } | null
): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  return [...keys]
    .filter(key => !key.endsWith('_at'))
    .filter(key => JSON.stringify(before?.[key]) !== JSON.stringify(after?.[key]))
    .sort();
}

function what(event: AuditEvent): string {
  const state = event.after ?? event.before;
  if (event.entity_type === 'release' && state && typeof state.version === 'string') {
    return `release ${releaseLabel({
      version: state.version,
      quantization: String(state.quantization ?? 'none')
    })}`;
  }
  return `${event.entity_type} ${event.entity_id}`;
}

/** One line of a model's history: `promoted release 1.0 (int4): candidate → released`. */
export function auditSummary(event: AuditEvent): string {
  const { action, before, after } = event;
  if (action === 'set_alias') {
    const alias = after?.alias ?? event.entity_id;
    const moved = before ? ` (was #${before.release_id})` : '';
    return `alias ${alias} → release #${after?.release_id}${moved}`;
  }
  if (action === 'rollback_alias') {
    return `rolled back alias ${after?.alias ?? event.entity_id} to release #${after?.release_id} (was #${before?.release_id})`;
  }
  if (action === 'delete_alias') {
    return `removed alias ${before?.alias ?? event.entity_id} (was release #${before?.release_id})`;
  }
  const verb = PAST[action] ?? action;
  if (action in TRANSITIONS && before && after) {
    return `${verb} ${what(event)}: ${before.status} → ${after.status}`;
  }
  if (action === 'update') {
    const keys = changedKeys(before, after);
    return `${verb} ${what(event)}${keys.length ? `: ${keys.join(', ')}` : ''}`;
  }
  return `${verb} ${what(event)}`;
}
