/** Palette commands that add an artifact to a model or release, and that delete one (see
 * `targets.ts`). */
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { apiPath } from '../../api';
import { artifactDeleteQuestion, artifactOwner, nameFromPath } from '../../artifacts';
import type { IMLOpsContext } from '../../context';
import { IChoice, idArg, ITargetCommand, listItems, textArg } from '../../targets';
import type { Artifact, Model, Release } from '../../types';
import { releaseChoice } from './targets';

/** What an artifact belongs to: a model, or one of its releases. */
export interface IArtifactOwner {
  model: string;
  release?: Release;
}

/** An artifact with the name of its model and what it belongs to, in words. */
export interface IOwnedArtifact {
  artifact: Artifact;
  /** Its model's name (undefined when not among the models read). */
  model: string | undefined;
  owner: string;
}

/** `artifacts` with their models and owners, from the models and releases read. */
function owned(
  artifacts: readonly Artifact[],
  models: readonly Model[],
  releases: readonly Release[]
): IOwnedArtifact[] {
  const modelNames = new Map(models.map(model => [model.id, model.name]));
  const releaseById = new Map(releases.map(release => [release.id, release]));
  return artifacts.map(artifact => {
    const release = artifact.release_id === null ? undefined : releaseById.get(artifact.release_id);
    const model =
      release?.model ??
      (artifact.model_id === null ? undefined : modelNames.get(artifact.model_id));
    const owner =
      artifact.release_id !== null && !release
        ? `release #${artifact.release_id}`
        : artifactOwner(model ?? `model #${artifact.model_id}`, release);
    return { artifact, model, owner };
  });
}

/** The artifact `{id}` names, with its model and owner. */
function ownedFromArgs(
  context: IMLOpsContext,
  args: ReadonlyPartialJSONObject
): Promise<IOwnedArtifact> | undefined {
  const id = idArg(args);
  if (id === undefined) {
    return undefined;
  }
  return context.request<Artifact>(apiPath('artifacts', id)).then(async artifact => {
    const releases =
      artifact.release_id === null
        ? []
        : [await context.request<Release>(apiPath('releases', artifact.release_id))];
    const models = releases.length ? [] : await listItems<Model>(context, 'models');
    return owned([artifact], models, releases)[0];
  });
}

/** Palette commands of the Registry tab on artifacts. */
export const ARTIFACT_TARGETS: readonly ITargetCommand<any>[] = [
  {
    id: 'mlops:add-artifact',
    label: 'Add an Artifact to an MLOps Model or Release',
    title: 'Add an artifact to which model or release?',
    none: 'No models yet: create one first.',
    choices: async context => {
      const [models, releases] = await Promise.all([
        listItems<Model>(context, 'models'),
        listItems<Release>(context, 'releases')
      ]);
      return [
        ...models.map(model => ({
          label: `${model.name} (the model)`,
          value: { model: model.name }
        })),
        ...releases.map(release => ({
          label: releaseChoice(release).label,
          value: { model: release.model, release }
        }))
      ];
    },
    // {release_id} or {name} of a model
    fromArgs: (context, args) => {
      const releaseId = idArg(args, 'release_id');
      const name = textArg(args, 'name');
      if (releaseId !== undefined && name !== undefined) {
        throw new Error('add-artifact takes release_id or name, not both');
      }
      if (releaseId !== undefined) {
        return context
          .request<Release>(apiPath('releases', releaseId))
          .then(release => ({ model: release.model, release }));
      }
      return name === undefined
        ? undefined
        : context.request<Model>(apiPath('models', name)).then(model => ({ model: model.name }));
    },
    run: async (context, owner, ask) => {
      const label = artifactOwner(owner.model, owner.release);
      const path = await ask.text(
        `Add an artifact to ${label}`,
        'Path: s3://bucket/key, hf://org/name or a file',
        's3://bucket/key'
      );
      if (path === null) {
        return null;
      }
      const suggested = nameFromPath(path);
      const name = await ask.text(
        `Name of the artifact at ${path.trim()}`,
        suggested ? `Name (empty: ${suggested})` : 'Name',
        suggested || 'model.gguf'
      );
      if (name === null) {
        return null;
      }
      const artifact = await context.request<Artifact>('artifacts', {
        method: 'POST',
        json: {
          ...(owner.release ? { release_id: owner.release.id } : { model: owner.model }),
          name: name.trim() || suggested,
          path: path.trim()
        }
      });
      return `Added ${artifact.name} (${artifact.kind}) to ${label}.`;
    },
    show: owner => ({ action: 'registry:open-model', args: owner.model })
  } satisfies ITargetCommand<IArtifactOwner>,
  {
    id: 'mlops:delete-artifact',
    label: 'Delete an MLOps Artifact',
    title: 'Delete which artifact?',
    none: 'No artifacts to delete.',
    choices: async context => {
      const [artifacts, models, releases] = await Promise.all([
        listItems<Artifact>(context, 'artifacts'),
        listItems<Model>(context, 'models'),
        listItems<Release>(context, 'releases')
      ]);
      return owned(artifacts, models, releases).map((target): IChoice<IOwnedArtifact> => ({
        label: `#${target.artifact.id} ${target.artifact.name} · ${target.artifact.kind} · ${target.owner}`,
        value: target
      }));
    },
    fromArgs: ownedFromArgs,
    run: async (context, { artifact, owner }, ask) => {
      const question = artifactDeleteQuestion(artifact, owner);
      if (!(await ask.confirm(question.title, question.body, question.accept))) {
        return null;
      }
      await context.request(apiPath('artifacts', artifact.id), { method: 'DELETE' });
      return `Deleted the artifact ${artifact.name} of ${owner}.`;
    },
    show: target => ({ action: 'registry:open-model', args: target.model })
  } satisfies ITargetCommand<IOwnedArtifact>
];
