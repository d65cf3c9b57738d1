/** Pure logic of the Builds tab: release labels, default tags, request bodies, row text. */
import { APIError } from './api';
import { formatBytes } from './format';
import type { Build, BuildPush, PostBuildPushBody, PostBuildsBody, Release } from './types';

/** Base image families a build can target (the server's `ACCELERATORS`). */
export const ACCELERATORS = ['rocm', 'cuda', 'cpu'] as const;
export type Accelerator = (typeof ACCELERATORS)[number];

/** Field name -> message, for inline form errors. */
export type FieldErrors = Record<string, string>;

/** A failed request as inline errors: the server's message under the field it names when
 * the form has that field, else under the key `''` (the form's own error line); a 503
 * (no Docker daemon answers) says so. Anything not an `APIError` is shown as it is. */
export function formErrors(reason: unknown, fields: readonly string[]): FieldErrors {
  if (!(reason instanceof APIError)) {
    return { '': reason instanceof Error ? reason.message : String(reason) };
  }
  if (reason.field && fields.includes(reason.field)) {
    return { [reason.field]: reason.message };
  }
  return {
    '': reason.status === 503 ? `Docker is not available: ${reason.message}` : reason.message
  };
}

/** Whether the build has an image to push (it succeeded and the daemon gave an id). */
export function canPush(build: Pick<Build, 'state' | 'image_id'>): boolean {
  return build.state === 'succeeded' && !!build.image_id;
}

/** `model:version:quantization`, the way releases are named in the select and the rows. */
export function releaseLabel(release: Pick<Release, 'model' | 'version' | 'quantization'>): string {
  return `${release.model}:${release.version}:${release.quantization}`;
}

/** The tag the server gives a build without one: `<model>:<version>[-<quantization>]`
 * made to fit Docker's grammar (mirrors `builds.rules.default_tag`). */
export function defaultTag(model: string, version: string, quantization: string): string {
  let repo = model
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '');
  repo = repo.replace(/([._-])[._-]+/g, '$1') || 'model';
  const raw =
    quantization === '' || quantization === 'none' ? version : `${version}-${quantization}`;
  const tag =
    raw
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .replace(/^[.-]+/, '')
      .slice(0, 128) || 'latest';
  return `${repo}:${tag}`;
}

/** What the start form holds (strings as typed). */
export interface IBuildForm {
  /** The release id as the select's value, '' when none is chosen. */
  releaseId: string;
  /** '' lets the server choose (the release's or model's accelerator, else rocm). */
  accelerator: Accelerator | '';
  baseImage: string;
  tag: string;
  noCache: boolean;
}

/** Problems the form can see before asking the server. */
export function validateBuildForm(form: IBuildForm): FieldErrors {
  const errors: FieldErrors = {};
  if (!/^[1-9]\d*$/.test(form.releaseId)) {
    errors.release_id = 'release_id: choose a release to build';
  }
  return errors;
}

/** The POST builds body of a valid form; empty fields are left to the server's defaults. */
export function buildBody(form: IBuildForm): PostBuildsBody {
  const body: PostBuildsBody = { release_id: Number(form.releaseId) };
  if (form.accelerator) {
    body.accelerator = form.accelerator;
  }
  if (form.baseImage.trim()) {
    body.base_image = form.baseImage.trim();
  }
  if (form.tag.trim()) {
    body.tag = form.tag.trim();
  }
  if (form.noCache) {
    body.no_cache = true;
  }
  return body;
}

/** What the push form holds; the password lives only here, and only until submitted. */
export interface IPushForm {
  registry: string;
  repository: string;
  tag: string;
  username: string;
  password: string;
}

/** An empty push form. */
export function emptyPushForm(): IPushForm {
  return { registry: '', repository: '', tag: '', username: '', password: '' };
}

/** The POST builds/{id}/push body; empty optional fields are left out (the password is sent as typed). */
export function pushBody(form: IPushForm): PostBuildPushBody {
  const body: PostBuildPushBody = { registry: form.registry.trim() };
  const repository = form.repository.trim();
  const tag = form.tag.trim();
  const username = form.username.trim();
  if (repository) {
    body.repository = repository;
  }
  if (tag) {
    body.tag = tag;
  }
  if (username) {
    body.username = username;
  }
  if (form.password) {
    body.password = form.password;
  }
  return body;
}

/** `name[:tag]` -> [repository, tag]; a registry port is not a tag (mirrors `split_image`). */
export function splitImage(ref: string): [string, string] {
  const at = ref.lastIndexOf(':');
  if (at >= 0 && !ref.slice(at + 1).includes('/')) {
    return [ref.slice(0, at), ref.slice(at + 1)];
  }
  return [ref, 'latest'];
}

/** The repository without a registry host in front (mirrors `without_registry`). */
export function withoutRegistry(repository: string): string {
  const slash = repository.indexOf('/');
  if (slash < 0) {
    return repository;
  }
  const first = repository.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost'
    ? repository.slice(slash + 1)
    : repository;
}

/** The reference a push form would push `buildTag` to (the server's defaults filled in);
 * empty until a registry is given. */
export function pushTarget(form: IPushForm, buildTag: string): string {
  const registry = form.registry.trim();
  if (!registry) {
    return '';
  }
  const [repository, tag] = splitImage(buildTag);
  return `${registry}/${form.repository.trim() || withoutRegistry(repository)}:${form.tag.trim() || tag}`;
}

/** `sha256:0123456789abcdef…` -> `0123456789ab`, as `docker images` shows it. */
export function shortImageId(imageId: string | null | undefined): string {
  return imageId ? imageId.replace(/^sha256:/, '').slice(0, 12) : '';
}

/** `context 20.5 KB sent / 16.4 KB needed` once the build has assembled its context. */
export function contextText(build: Pick<Build, 'context_bytes' | 'needed_bytes'>): string {
  if (build.context_bytes === null && build.needed_bytes === null) {
    return '';
  }
  return `context ${formatBytes(build.context_bytes)} sent / ${formatBytes(build.needed_bytes)} needed`;
}

/** What a push points at: `reference@digest`, or the reference alone before it is done. */
export function pushReference(push: Pick<BuildPush, 'reference' | 'digest'>): string {
  return push.digest ? `${push.reference}@${push.digest}` : push.reference;
}
