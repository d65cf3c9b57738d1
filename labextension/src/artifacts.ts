/** Pure logic of a model's artifacts: the create form's body, labels and questions. */
import { IQuestion, releaseLabel } from './registry';
import type { Artifact, PostArtifactsBody, Release } from './types';

export type ArtifactKind = NonNullable<Artifact['kind']>;

/** The kinds an artifact can have, in the order the select offers them. */
export const ARTIFACT_KINDS: readonly ArtifactKind[] = [
  'file',
  'weights',
  'tokenizer',
  'config',
  'dataset',
  'report',
  'image',
  'other'
];

/** What the create-artifact form holds (strings as typed). */
export interface IArtifactForm {
  /** The release id it belongs to as the select's value, '' for the model itself. */
  releaseId: string;
  name: string;
  path: string;
  kind: ArtifactKind;
  /** Bytes, as typed ('' unknown). */
  size: string;
  sha256: string;
}

export const EMPTY_ARTIFACT: IArtifactForm = {
  releaseId: '',
  name: '',
  path: '',
  kind: 'file',
  size: '',
  sha256: ''
};

/** The POST artifacts body: of the release chosen, else of `model`; text trimmed, empty
 * optional fields left out (the size is a number input's value: a number or nothing). */
export function artifactBody(model: string, form: IArtifactForm): PostArtifactsBody {
  const owner = form.releaseId ? { release_id: Number(form.releaseId) } : { model };
  const body: PostArtifactsBody = {
    ...owner,
    name: form.name.trim(),
    path: form.path.trim(),
    kind: form.kind
  };
  const size = form.size.trim();
  if (size) {
    body.size = Number(size);
  }
  if (form.sha256.trim()) {
    body.sha256 = form.sha256.trim();
  }
  return body;
}

/** The last part of a path or URI, as an artifact's name (`s3://b/m/model.gguf` -> `model.gguf`). */
export function nameFromPath(path: string): string {
  const parts = path
    .trim()
    .replace(/@[^/]*$/, '')
    .split('/')
    .filter(Boolean);
  return parts.length > 1 || !path.includes('://') ? (parts.pop() ?? '') : '';
}

/** What an artifact belongs to: `llama 1.0 (int4)`, or `llama` for the model itself. */
export function artifactOwner(model: string, release: Release | undefined): string {
  return release ? `${release.model} ${releaseLabel(release)}` : model;
}

/** What to ask before deleting an artifact. */
export function artifactDeleteQuestion(artifact: Artifact, owner: string): IQuestion {
  return {
    title: 'Delete artifact',
    body: `Delete the artifact ${artifact.name} of ${owner}? Only its record goes; the file at ${artifact.path} stays.`,
    accept: 'Delete'
  };
}
