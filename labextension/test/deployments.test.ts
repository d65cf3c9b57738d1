import { REFRESH } from '../src/actions';
import {
  deploymentBody,
  deploymentDeleteQuestion,
  deploymentLabel,
  EMPTY_DEPLOYMENT
} from '../src/deployments';
import { DEPLOYMENT_TARGETS } from '../src/tabs/registry/deployment-targets';
import { ITargetCommand, runTarget } from '../src/targets';
import type { Deployment, Release } from '../src/types';
import { fakeAsk, fakeContext, last, release } from './fakes';

function deployment(id: number, releaseId: number, status: Deployment['status']): Deployment {
  return {
    id,
    release_id: releaseId,
    model: 'llama',
    version: `1.${releaseId}`,
    quantization: 'none',
    environment: `env${id}`,
    endpoint: null,
    status,
    notes: null,
    created_at: '2026-11-23T00:00:00Z',
    updated_at: '2026-11-23T00:00:00Z'
  };
}

const command = (id: string): ITargetCommand<any> => DEPLOYMENT_TARGETS.find(c => c.id === id)!;

/** Serves releases, deployments and each by id; records the changes asked for. */
function server(releases: Release[], deployments: Deployment[]) {
  return fakeContext((path, init) => {
    if (path === 'releases' && !init?.method) {
      return { items: releases, next_cursor: null };
    }
    if (path === 'deployments' && !init?.method) {
      return { items: deployments, next_cursor: null };
    }
    if (path === 'deployments' && init?.method === 'POST') {
      const body = init.json as { release_id: number; environment: string };
      return { ...deployment(9, body.release_id, 'pending'), environment: body.environment };
    }
    const one = /^(releases|deployments)\/(\d+)$/.exec(path);
    if (one && !init?.method) {
      const list: Array<{ id: number }> = one[1] === 'releases' ? releases : deployments;
      return list.find(item => item.id === Number(one[2]));
    }
    return {};
  });
}

describe('the create-deployment form', () => {
  it('sends the release, environment and status, and what else was typed', () => {
    expect(
      deploymentBody({ ...EMPTY_DEPLOYMENT, releaseId: '3', environment: ' production ' })
    ).toEqual({ release_id: 3, environment: 'production', status: 'pending' });
    expect(
      deploymentBody({
        releaseId: '3',
        environment: 'staging',
        endpoint: ' http://h:8000 ',
        status: 'active',
        notes: ' canary '
      })
    ).toEqual({
      release_id: 3,
      environment: 'staging',
      endpoint: 'http://h:8000',
      status: 'active',
      notes: 'canary'
    });
  });

  it('names a deployment by its release and environment', () => {
    expect(deploymentLabel(deployment(1, 3, 'active'), release(3))).toBe('llama 1.3 (int4) → env1');
    expect(deploymentLabel(deployment(1, 3, 'active'), undefined)).toBe('release #3 → env1');
    expect(deploymentDeleteQuestion('llama 1.3 → prod').accept).toBe('Delete');
  });
});

describe('deployment commands', () => {
  it('deploys a picked release to the environment asked, deprecated ones not offered', async () => {
    const s = server([release(1, 'deprecated'), release(2)], []);
    const { ask, asked, said } = fakeAsk({ pick: labels => labels[0], text: 'production' });
    expect(await runTarget(command('mlops:create-deployment'), s.context, {}, ask)).toBe(true);
    expect(asked[0]).toEqual(['pick', 'Deploy which release?', ['llama 1.2 · released · #2']]);
    expect(last(s.requests)).toEqual([
      'deployments',
      { method: 'POST', json: { release_id: 2, environment: 'production' } }
    ]);
    expect(said).toEqual([['success', 'Deployed llama 1.2 → production (pending).']]);
    expect(s.emitted).toEqual([
      [REFRESH, undefined],
      ['registry:open-model', 'llama']
    ]);
  });

  it('takes the release from {release_id}', async () => {
    const s = server([release(2)], []);
    const { ask, asked } = fakeAsk({ text: 'staging' });
    expect(
      await runTarget(command('mlops:create-deployment'), s.context, { release_id: 2 }, ask)
    ).toBe(true);
    expect(asked.map(a => (a as string[])[0])).toEqual(['text']);
    expect(s.requests[0][0]).toBe('releases/2');
  });

  it('sets the status picked among the others', async () => {
    const s = server([release(3)], [deployment(5, 3, 'pending')]);
    const { ask, asked, said } = fakeAsk({
      pick: labels => (labels.includes('active') ? 'active' : labels[0])
    });
    expect(await runTarget(command('mlops:set-deployment-status'), s.context, {}, ask)).toBe(true);
    expect(asked).toEqual([
      ['pick', 'Set the status of which deployment?', ['#5 llama 1.3 (int4) → env5 · pending']],
      ['pick', 'Status of llama 1.3 (int4) → env5 (now pending)', ['active', 'failed', 'retired']]
    ]);
    expect(last(s.requests)).toEqual([
      'deployments/5',
      { method: 'PATCH', json: { status: 'active' } }
    ]);
    expect(said).toEqual([['success', 'llama 1.3 (int4) → env5 is active.']]);
  });

  it('deletes {id} after a confirmation, and nothing when declined', async () => {
    const s = server([release(3)], [deployment(5, 3, 'active')]);
    const declined = fakeAsk({ confirm: false });
    expect(
      await runTarget(command('mlops:delete-deployment'), s.context, { id: 5 }, declined.ask)
    ).toBe(false);
    const accepted = fakeAsk({ confirm: true });
    expect(
      await runTarget(command('mlops:delete-deployment'), s.context, { id: 5 }, accepted.ask)
    ).toBe(true);
    expect(s.requests.filter(([, init]) => init?.method === 'DELETE')).toEqual([
      ['deployments/5', { method: 'DELETE' }]
    ]);
    expect(accepted.said).toEqual([['success', 'Deleted the deployment llama 1.3 (int4) → env5.']]);
  });
});
