/** Palette commands on one model, release or alias (see `targets.ts`). */
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { apiPath } from '../../api';
import type { IMLOpsContext } from '../../context';
import {
  aliasDeleteQuestion,
  allowedTransitions,
  releaseLabel,
  rollbackDone,
  rollbackQuestion,
  Transition,
  transitionDone,
  transitionQuestion,
  TRANSITIONS
} from '../../registry';
import { byId, IChoice, ITargetCommand, listItems, textArg } from '../../targets';
import type { Alias, AliasEvent, AliasTarget, Model, Release } from '../../types';

/** A release in a picker: `m 1.0 (int4) · candidate · #3`. */
export function releaseChoice(release: Release): IChoice<Release> {
  return {
    label: `${release.model} ${releaseLabel(release)} · ${release.status} · #${release.id}`,
    value: release
  };
}

/** The release `{id}` names. */
const releaseFromArgs = byId<Release>('releases');

/** Open the model (of a release, deployment...) in the Registry tab. */
export const showModelOf = (release: { model: string }) => ({
  action: 'registry:open-model',
  args: release.model
});

/** Promote, demote or deprecate a release the status allows it for. */
function transition(action: Transition, id: string, label: string): ITargetCommand<Release> {
  return {
    id,
    label,
    title: `${label}: which release?`,
    none: `No ${TRANSITIONS[action].from.join(' or ')} release to ${action}.`,
    choices: async context =>
      (await listItems<Release>(context, 'releases'))
        .filter(release => allowedTransitions(release.status).includes(action))
        .map(releaseChoice),
    fromArgs: releaseFromArgs,
    run: async (context, release, ask) => {
      const question = transitionQuestion(release, action);
      if (question && !(await ask.confirm(question.title, question.body, question.accept))) {
        return null;
      }
      await context.request(apiPath('releases', release.id, action), { method: 'POST' });
      return transitionDone(release, action);
    },
    show: showModelOf
  };
}

/** The model `{name}` names. */
function modelFromArgs(context: IMLOpsContext, args: ReadonlyPartialJSONObject) {
  const name = textArg(args, 'name');
  return name === undefined ? undefined : context.request<Model>(apiPath('models', name));
}

/** A model in a picker, by name. */
export const modelChoices = async (context: IMLOpsContext): Promise<IChoice<Model>[]> =>
  (await listItems<Model>(context, 'models')).map(model => ({ label: model.name, value: model }));

/** Every alias in a picker: `llama@prod → #3`. */
const aliasChoices = async (context: IMLOpsContext): Promise<IChoice<Alias>[]> =>
  (await listItems<Alias>(context, 'aliases')).map(alias => ({
    label: `${alias.model}@${alias.alias} → #${alias.release_id}`,
    value: alias
  }));

/** The alias `{model, alias}` names (the command `id` says who refuses half of it). */
function aliasFromArgs(id: string) {
  return (context: IMLOpsContext, args: ReadonlyPartialJSONObject) => {
    const model = textArg(args, 'model');
    const alias = textArg(args, 'alias');
    if (model === undefined && alias === undefined) {
      return undefined;
    }
    if (model === undefined || alias === undefined) {
      throw new Error(`${id} takes both model and alias, or neither`);
    }
    return context
      .request<AliasTarget>(apiPath('aliases', model, alias))
      .then(found => ({ model, alias, release_id: found.release.id }));
  };
}

/** Palette commands of the Registry tab that act on one thing. */
export const REGISTRY_TARGETS: readonly ITargetCommand<any>[] = [
  {
    id: 'mlops:open-model',
    label: 'Open an MLOps Model',
    title: 'Open which model?',
    none: 'No models yet: create one first.',
    choices: modelChoices,
    fromArgs: modelFromArgs,
    show: model => ({ action: 'registry:open-model', args: model.name })
  } satisfies ITargetCommand<Model>,
  {
    id: 'mlops:show-model-history',
    label: "Show an MLOps Model's History",
    title: 'The history of which model?',
    none: 'No models yet: create one first.',
    choices: modelChoices,
    fromArgs: modelFromArgs,
    show: model => ({ action: 'registry:show-history', args: model.name })
  } satisfies ITargetCommand<Model>,
  transition('promote', 'mlops:promote-release', 'Promote an MLOps Release'),
  transition('demote', 'mlops:demote-release', 'Demote an MLOps Release'),
  transition('deprecate', 'mlops:deprecate-release', 'Deprecate an MLOps Release'),
  {
    id: 'mlops:set-alias',
    label: 'Point an MLOps Alias at a Release',
    title: 'Point an alias at which release?',
    none: 'No releases yet: create one first.',
    choices: async context => (await listItems<Release>(context, 'releases')).map(releaseChoice),
    fromArgs: releaseFromArgs,
    run: async (context, release, ask) => {
      const alias = await ask.text(
        `Alias for ${release.model} ${releaseLabel(release)}`,
        'Alias name',
        'production'
      );
      if (alias === null) {
        return null;
      }
      const name = alias.trim();
      if (!name) {
        throw new Error('alias: must not be empty');
      }
      await context.request(apiPath('aliases', release.model, name), {
        method: 'PUT',
        json: { release_id: release.id }
      });
      return `${release.model}@${name} → ${releaseLabel(release)}.`;
    },
    show: showModelOf
  } satisfies ITargetCommand<Release>,
  {
    id: 'mlops:delete-alias',
    label: 'Delete an MLOps Alias',
    title: 'Delete which alias?',
    none: 'No aliases to delete.',
    choices: aliasChoices,
    fromArgs: aliasFromArgs('delete-alias'), // {model, alias}
    run: async (context, alias, ask) => {
      const question = aliasDeleteQuestion(alias.model, alias.alias);
      if (!(await ask.confirm(question.title, question.body, question.accept))) {
        return null;
      }
      await context.request(apiPath('aliases', alias.model, alias.alias), { method: 'DELETE' });
      return `Deleted the alias ${alias.model}@${alias.alias}.`;
    },
    show: showModelOf
  } satisfies ITargetCommand<Alias>,
  {
    id: 'mlops:rollback-alias',
    label: 'Roll Back an MLOps Alias',
    title: 'Roll back which alias?',
    none: 'No aliases to roll back.',
    choices: aliasChoices,
    fromArgs: aliasFromArgs('rollback-alias'), // {model, alias}
    run: async (context, alias, ask) => {
      const path = apiPath('aliases', alias.model, alias.alias);
      const now = await context.request<AliasTarget>(path);
      if (now.rollback_to === null || now.rollback_to === undefined) {
        throw new Error(
          `${alias.model}@${alias.alias} has had no target before release #${now.release.id}; nothing to roll back to.`
        );
      }
      const labels = new Map([[now.release.id, now.release]]);
      const question = rollbackQuestion(
        alias.model,
        alias.alias,
        now.release.id,
        now.rollback_to,
        labels
      );
      if (!(await ask.confirm(question.title, question.body, question.accept))) {
        return null;
      }
      const event = await context.request<AliasEvent>(`${path}/rollback`, { method: 'POST' });
      return rollbackDone(event);
    },
    show: showModelOf
  } satisfies ITargetCommand<Alias>
];
