/** Palette commands of the Builds tab on one build (see `targets.ts`). */
import { apiPath } from '../../api';
import { canPush, releaseLabel } from '../../builds';
import { byId, IChoice, ITargetCommand, listItems } from '../../targets';
import type { Build } from '../../types';

/** A build in a picker: `#7 m:1.0:int4 · succeeded · m:1.0-int4`. */
function buildChoice(build: Build): IChoice<Build> {
  return {
    label: `#${build.id} ${releaseLabel(build)} · ${build.state} · ${build.tag}`,
    value: build
  };
}

const showBuild = (build: Build) => ({ action: 'builds:show', args: build.id });

/** Palette commands of this tab on one build. */
export const BUILDS_TARGETS: readonly ITargetCommand<Build>[] = [
  {
    id: 'mlops:show-build',
    label: 'Show an MLOps Build and Its Log',
    title: 'Show which build?',
    none: 'No builds yet.',
    choices: async context => (await listItems<Build>(context, 'builds')).map(buildChoice),
    fromArgs: byId<Build>('builds'),
    show: showBuild
  },
  {
    id: 'mlops:cancel-build',
    label: 'Cancel an MLOps Image Build',
    title: 'Cancel which build?',
    none: 'No build is queued or running.',
    choices: async context =>
      (await listItems<Build>(context, 'builds', { active: true })).map(buildChoice),
    fromArgs: byId<Build>('builds'),
    run: async (context, build) => {
      await context.request(apiPath('builds', build.id, 'cancel'), { method: 'POST' });
      return `Cancelling build #${build.id} of ${releaseLabel(build)}.`;
    },
    show: showBuild
  },
  {
    id: 'mlops:push-build',
    label: 'Push an MLOps Image to a Registry…',
    title: 'Push the image of which build?',
    none: 'No finished build has an image to push.',
    choices: async context =>
      (await listItems<Build>(context, 'builds')).filter(canPush).map(buildChoice),
    fromArgs: (context, args) =>
      byId<Build>('builds')(context, args)?.then(build => {
        if (!canPush(build)) {
          throw new Error(`build #${build.id} has no image to push (it is ${build.state})`);
        }
        return build;
      }),
    show: build => ({ action: 'builds:push', args: build.id })
  }
];
