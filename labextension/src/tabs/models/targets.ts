/** Palette commands of the Models tab on one download or local model (see `targets.ts`). */
import { apiPath } from '../../api';
import { formatBytes } from '../../format';
import { cancellable, jobState } from '../../jobs';
import { deletedText, deleteRequest, downloadOf, hubModelPath } from '../../models';
import { byId, IChoice, ITargetCommand, listItems, textArg } from '../../targets';
import type { HubDeleted, HubModel, Job } from '../../types';
import { askDelete } from './local';

/** A download in a picker: `#4 org/name@main · running 40%`. */
function downloadChoice(job: Job): IChoice<Job> {
  const { repo, revision } = downloadOf(job);
  return { label: `#${job.id} ${repo}@${revision} · ${jobState(job)}`, value: job };
}

/** Palette commands of this tab on one download or local model. */
export const MODELS_TARGETS: readonly ITargetCommand<any>[] = [
  {
    id: 'mlops:cancel-download',
    label: 'Cancel a Model Download',
    title: 'Cancel which download?',
    none: 'No download is queued or running.',
    choices: async context =>
      (await listItems<Job>(context, 'hub/downloads', { active: true }))
        .filter(cancellable)
        .map(downloadChoice),
    fromArgs: byId<Job>('jobs'),
    run: async (context, job) => {
      await context.request(apiPath('hub', 'downloads', job.id, 'cancel'), { method: 'POST' });
      return `Cancelling the download of ${downloadOf(job).repo}.`;
    }
  } satisfies ITargetCommand<Job>,
  {
    id: 'mlops:delete-local-model',
    label: 'Delete a Downloaded Model',
    title: 'Delete which downloaded model?',
    none: 'No models in the local cache.',
    choices: async context =>
      (await listItems<HubModel>(context, 'hub/models')).map(model => ({
        label: `${model.repo_id} · ${formatBytes(model.size_on_disk)}`,
        value: model
      })),
    // {repo: 'org/name'}
    fromArgs: (context, args) => {
      const repo = textArg(args, 'repo');
      return repo === undefined ? undefined : context.request<HubModel>(hubModelPath(repo));
    },
    run: async (context, model) => {
      const choice = await askDelete(model);
      if (!choice) {
        return null;
      }
      const { path, query } = deleteRequest(model, choice);
      return deletedText(await context.request<HubDeleted>(path, { method: 'DELETE', query }));
    }
  } satisfies ITargetCommand<HubModel>
];
