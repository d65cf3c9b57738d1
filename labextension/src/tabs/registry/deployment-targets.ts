/** Palette commands that deploy a release, and that act on one deployment (see `targets.ts`). */
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { apiPath } from '../../api';
import type { IMLOpsContext } from '../../context';
import { DEPLOYMENT_STATUSES, deploymentDeleteQuestion, deploymentLabel } from '../../deployments';
import { releaseLabel } from '../../registry';
import { IChoice, idArg, ITargetCommand, listItems } from '../../targets';
import type { Deployment, Release } from '../../types';
import { releaseChoice, showModelOf } from './targets';

/** A deployment with its release (its label, and the model to show). */
export interface IDeployed {
  deployment: Deployment;
  release: Release;
}

/** Releases by id: those of the first page of every release, and any other of `ids` asked for. */
async function releasesById(
  context: IMLOpsContext,
  ids: readonly number[]
): Promise<Map<number, Release>> {
  const byId = new Map(
    (await listItems<Release>(context, 'releases')).map(release => [release.id, release])
  );
  const missing = [...new Set(ids.filter(id => !byId.has(id)))];
  for (const release of await Promise.all(
    missing.map(id => context.request<Release>(apiPath('releases', id)))
  )) {
    byId.set(release.id, release);
  }
  return byId;
}

/** Every deployment (newest first) with its release, for a picker. */
async function deployedChoices(context: IMLOpsContext): Promise<IChoice<IDeployed>[]> {
  const deployments = await listItems<Deployment>(context, 'deployments');
  const releases = await releasesById(
    context,
    deployments.map(d => d.release_id)
  );
  return deployments.map(deployment => {
    const release = releases.get(deployment.release_id)!;
    return {
      label: `#${deployment.id} ${deploymentLabel(deployment, release)} · ${deployment.status}`,
      value: { deployment, release }
    };
  });
}

/** The deployment `{id}` names, with its release. */
function deployedFromArgs(
  context: IMLOpsContext,
  args: ReadonlyPartialJSONObject
): Promise<IDeployed> | undefined {
  const id = idArg(args);
  return id === undefined
    ? undefined
    : context.request<Deployment>(apiPath('deployments', id)).then(async deployment => ({
        deployment,
        release: await context.request<Release>(apiPath('releases', deployment.release_id))
      }));
}

const showDeployed = (target: IDeployed) => showModelOf(target.release);

/** Palette commands of the Registry tab on deployments. */
export const DEPLOYMENT_TARGETS: readonly ITargetCommand<any>[] = [
  {
    id: 'mlops:create-deployment',
    label: 'Deploy an MLOps Release (Record a Deployment)',
    title: 'Deploy which release?',
    none: 'No release to deploy: create one first.',
    choices: async context =>
      (await listItems<Release>(context, 'releases'))
        .filter(release => release.status !== 'deprecated')
        .map(releaseChoice),
    // {release_id}
    fromArgs: (context, args) => {
      const id = idArg(args, 'release_id');
      return id === undefined ? undefined : context.request<Release>(apiPath('releases', id));
    },
    run: async (context, release, ask) => {
      const environment = await ask.text(
        `Deploy ${release.model} ${releaseLabel(release)}`,
        'Environment',
        'production'
      );
      if (environment === null) {
        return null;
      }
      const deployment = await context.request<Deployment>('deployments', {
        method: 'POST',
        json: { release_id: release.id, environment: environment.trim() }
      });
      return `Deployed ${deploymentLabel(deployment, release)} (${deployment.status}).`;
    },
    show: showModelOf
  } satisfies ITargetCommand<Release>,
  {
    id: 'mlops:set-deployment-status',
    label: "Set an MLOps Deployment's Status",
    title: 'Set the status of which deployment?',
    none: 'No deployments yet.',
    choices: deployedChoices,
    fromArgs: deployedFromArgs,
    run: async (context, { deployment, release }, ask) => {
      const label = deploymentLabel(deployment, release);
      const status = await ask.pick(
        `Status of ${label} (now ${deployment.status})`,
        DEPLOYMENT_STATUSES.filter(status => status !== deployment.status)
      );
      if (status === null) {
        return null;
      }
      await context.request(apiPath('deployments', deployment.id), {
        method: 'PATCH',
        json: { status }
      });
      return `${label} is ${status}.`;
    },
    show: showDeployed
  } satisfies ITargetCommand<IDeployed>,
  {
    id: 'mlops:delete-deployment',
    label: 'Delete an MLOps Deployment',
    title: 'Delete which deployment?',
    none: 'No deployments to delete.',
    choices: deployedChoices,
    fromArgs: deployedFromArgs,
    run: async (context, { deployment, release }, ask) => {
      const label = deploymentLabel(deployment, release);
      const question = deploymentDeleteQuestion(label);
      if (!(await ask.confirm(question.title, question.body, question.accept))) {
        return null;
      }
      await context.request(apiPath('deployments', deployment.id), { method: 'DELETE' });
      return `Deleted the deployment ${label}.`;
    },
    show: showDeployed
  } satisfies ITargetCommand<IDeployed>
];
