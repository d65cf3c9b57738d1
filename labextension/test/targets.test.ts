import { REFRESH } from '../src/actions';
import { APIError } from '../src/api';
import { REGISTRY_TARGETS } from '../src/tabs/registry/targets';
import { idArg, ITargetCommand, PICK_MAX, runTarget, textArg } from '../src/targets';
import type { Release } from '../src/types';
import { fakeAsk, fakeContext, release } from './fakes';

const command = (id: string): ITargetCommand<any> => REGISTRY_TARGETS.find(c => c.id === id)!;

/** Serves GET releases (one page) and releases/<id>, and accepts any POST/PUT/DELETE. */
function registryServer(releases: Release[]) {
  return fakeContext((path, init) => {
    if (path === 'releases') {
      return { items: releases, next_cursor: null };
    }
    const one = /^releases\/(\d+)$/.exec(path);
    if (one && !init?.method) {
      const found = releases.find(r => r.id === Number(one[1]));
      if (!found) {
        throw new APIError(404, 'NotFound', `release ${one[1]} does not exist`);
      }
      return found;
    }
    return {};
  });
}

describe('runTarget', () => {
  it('offers only the releases the action applies to, runs it on the pick, says it and shows it', async () => {
    const server = registryServer([
      release(1, 'candidate'),
      release(2, 'released'),
      release(3, 'demoted')
    ]);
    const { ask, asked, said } = fakeAsk({ pick: labels => labels[1] });
    expect(await runTarget(command('mlops:promote-release'), server.context, {}, ask)).toBe(true);
    expect(asked).toEqual([
      [
        'pick',
        'Promote an MLOps Release: which release?',
        ['llama 1.1 (int4) · candidate · #1', 'llama 1.3 (int4) · demoted · #3']
      ]
    ]);
    expect(server.requests.map(([path, init]) => [path, init?.method, init?.query?.limit])).toEqual(
      [
        ['releases', undefined, PICK_MAX],
        ['releases/3/promote', 'POST', undefined]
      ]
    );
    expect(said).toEqual([['success', 'Promoted llama 1.3 (int4).']]);
    expect(server.emitted).toEqual([
      [REFRESH, undefined],
      ['registry:open-model', 'llama']
    ]);
  });

  it('says there is nothing to pick without asking', async () => {
    const server = registryServer([release(2, 'released')]);
    const { ask, asked, said } = fakeAsk({});
    expect(await runTarget(command('mlops:promote-release'), server.context, {}, ask)).toBe(false);
    expect(asked).toEqual([]);
    expect(said).toEqual([['info', 'No candidate or demoted release to promote.']]);
  });

  it('takes the target from {id} without a picker', async () => {
    const server = registryServer([release(2, 'released')]);
    const { ask, asked, said } = fakeAsk({});
    expect(await runTarget(command('mlops:demote-release'), server.context, { id: 2 }, ask)).toBe(
      true
    );
    expect(asked).toEqual([]);
    expect(server.requests.map(([path]) => path)).toEqual(['releases/2', 'releases/2/demote']);
    expect(said).toEqual([['success', 'Demoted llama 1.2.']]);
  });

  it('changes nothing when the picker or the confirmation is dismissed', async () => {
    const server = registryServer([release(1, 'candidate')]);
    const dismissed = fakeAsk({ pick: () => null });
    expect(
      await runTarget(command('mlops:deprecate-release'), server.context, {}, dismissed.ask)
    ).toBe(false);
    const declined = fakeAsk({ pick: labels => labels[0], confirm: false });
    expect(
      await runTarget(command('mlops:deprecate-release'), server.context, {}, declined.ask)
    ).toBe(false);
    expect(declined.asked[1]).toEqual([
      'confirm',
      'Deprecate release',
      'Deprecate llama 1.1 (int4)? A deprecated release cannot be promoted again.'
    ]);
    expect(server.requests.map(([path]) => path)).toEqual(['releases', 'releases']);
    expect([...dismissed.said, ...declined.said]).toEqual([]);
    expect(server.emitted).toEqual([]);
  });

  it("says the server's refusal and a bad id, and emits nothing", async () => {
    const server = registryServer([]);
    const { ask, said } = fakeAsk({});
    expect(await runTarget(command('mlops:promote-release'), server.context, { id: 9 }, ask)).toBe(
      false
    );
    expect(
      await runTarget(command('mlops:promote-release'), server.context, { id: 'x' }, ask)
    ).toBe(false);
    expect(said).toEqual([
      ['error', 'release 9 does not exist'],
      ['error', 'id must be a positive integer, not "x"']
    ]);
    expect(server.emitted).toEqual([]);
  });

  it('asks the alias name and puts it on the picked release', async () => {
    const server = registryServer([release(4, 'released')]);
    const { ask, said } = fakeAsk({ pick: labels => labels[0], text: ' prod ' });
    expect(await runTarget(command('mlops:set-alias'), server.context, {}, ask)).toBe(true);
    const [path, init] = server.requests[1];
    expect([path, init?.method, init?.json]).toEqual([
      'aliases/llama/prod',
      'PUT',
      { release_id: 4 }
    ]);
    expect(said).toEqual([['success', 'llama@prod → 1.4.']]);

    const blank = fakeAsk({ pick: labels => labels[0], text: '  ' });
    expect(await runTarget(command('mlops:set-alias'), server.context, {}, blank.ask)).toBe(false);
    expect(blank.said).toEqual([['error', 'alias: must not be empty']]);
    expect(server.requests).toHaveLength(3); // the second listing only
  });

  it('takes {model, alias} for delete-alias and refuses half of it', async () => {
    const server = fakeContext((path, init) =>
      path === 'aliases/llama/prod' && !init?.method
        ? { model: 'llama', alias: 'prod', release: release(4, 'released') }
        : {}
    );
    const { ask, asked, said } = fakeAsk({ confirm: true });
    const deleteAlias = command('mlops:delete-alias');
    expect(
      await runTarget(deleteAlias, server.context, { model: 'llama', alias: 'prod' }, ask)
    ).toBe(true);
    expect(asked.map(a => (a as string[])[0])).toEqual(['confirm']);
    expect(server.requests.map(([path, init]) => [path, init?.method])).toEqual([
      ['aliases/llama/prod', undefined],
      ['aliases/llama/prod', 'DELETE']
    ]);
    expect(await runTarget(deleteAlias, server.context, { model: 'llama' }, ask)).toBe(false);
    expect(said).toEqual([
      ['success', 'Deleted the alias llama@prod.'],
      ['error', 'delete-alias takes both model and alias, or neither']
    ]);
  });

  it('shows without running for a show-only command', async () => {
    const server = fakeContext(() => ({ items: [{ name: 'llama' }], next_cursor: null }));
    const { ask, said } = fakeAsk({ pick: labels => labels[0] });
    expect(await runTarget(command('mlops:open-model'), server.context, {}, ask)).toBe(true);
    expect(said).toEqual([]);
    expect(server.emitted).toEqual([['registry:open-model', 'llama']]);
  });
});

describe('target helpers', () => {
  it('reads {id} as a positive integer or nothing', () => {
    expect(idArg({})).toBeUndefined();
    expect(idArg({ id: '7' })).toBe(7);
    expect(() => idArg({ id: 0 })).toThrow('id must be a positive integer, not 0');
    expect(() => idArg({ id: 1.5 })).toThrow('positive integer');
    expect(() => idArg({ id: true })).toThrow('id must be a positive integer, not true');
    expect(() => idArg({ id: '0x10' })).toThrow('positive integer');
    expect(() => idArg({ id: [5] })).toThrow('positive integer');
  });

  it('reads a named string arg, trimmed, or nothing', () => {
    expect(textArg({}, 'repo')).toBeUndefined();
    expect(textArg({ repo: ' org/name ' }, 'repo')).toBe('org/name');
    expect(() => textArg({ repo: ' ' }, 'repo')).toThrow(
      'repo must be a non-empty string, not " "'
    );
    expect(() => textArg({ name: 3 }, 'name')).toThrow('name must be a non-empty string, not 3');
  });
});
