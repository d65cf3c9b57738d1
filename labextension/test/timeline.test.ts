import { REGISTRY_TARGETS } from '../src/tabs/registry/targets';
import { aliasEventSummary, auditSummary, rollbackDone, rollbackQuestion } from '../src/registry';
import { ITargetCommand, runTarget } from '../src/targets';
import type { AliasEvent, AuditEvent } from '../src/types';
import { fakeAsk, fakeContext, release } from './fakes';

const rollbackAlias = REGISTRY_TARGETS.find(
  c => c.id === 'mlops:rollback-alias'
) as ITargetCommand<any>;

function event(
  action: AliasEvent['action'],
  previous: number | null,
  target: number | null
): AliasEvent {
  return {
    id: 1,
    model: 'llama',
    alias: 'production',
    action,
    release_id: target,
    previous_release_id: previous,
    version: target === null ? null : `1.${target}`,
    quantization: target !== null && target % 2 ? 'int4' : 'none',
    actor: 'ada',
    at: '2026-12-04T10:00:00+00:00'
  };
}

describe('alias timeline', () => {
  it('says each change in one line, with the target as people name it', () => {
    expect(aliasEventSummary(event('set', null, 2))).toBe('@production set → 1.2 #2');
    expect(aliasEventSummary(event('move', 2, 3))).toBe('@production moved #2 → 1.3 (int4) #3');
    expect(aliasEventSummary(event('rollback', 3, 2))).toBe('@production rolled back #3 → 1.2 #2');
    expect(aliasEventSummary(event('delete', 2, null))).toBe('@production deleted (was #2)');
    expect(aliasEventSummary(event('import', null, 2))).toBe('@production imported → 1.2 #2');
    expect(aliasEventSummary(event('import', 2, 4))).toBe('@production imported → 1.4 #4 (was #2)');
    expect(aliasEventSummary({ ...event('move', 2, 9), version: null })).toBe(
      '@production moved #2 → release #9'
    );
  });

  it('asks before a rollback, naming both releases, and says where it went', () => {
    const labels = new Map([[3, release(3)]]);
    expect(rollbackQuestion('llama', 'production', 3, 2, labels)).toEqual({
      title: 'Roll back alias',
      body: 'Move llama@production back from 1.3 (int4) #3 to release #2?',
      accept: 'Roll back'
    });
    expect(rollbackDone(event('rollback', 3, 2))).toBe('llama@production is back on 1.2 #2.');
  });

  it('shows a rollback in the audit history', () => {
    const audit: AuditEvent = {
      id: 9,
      at: '2026-12-04T10:00:00+00:00',
      actor: 'ada',
      action: 'rollback_alias',
      entity_type: 'alias',
      entity_id: 'llama@production',
      model_id: 1,
      before: { alias: 'production', release_id: 3 },
      after: { model: 'llama', alias: 'production', release_id: 2 }
    };
    expect(auditSummary(audit)).toBe('rolled back alias production to release #2 (was #3)');
  });
});

describe('mlops:rollback-alias', () => {
  function server(rollbackTo: number | null) {
    return fakeContext((path, init) => {
      if (path === 'aliases' && !init?.method) {
        return {
          items: [{ model: 'llama', alias: 'production', release_id: 3 }],
          next_cursor: null
        };
      }
      if (path === 'aliases/llama/production' && !init?.method) {
        return {
          model: 'llama',
          alias: 'production',
          release: release(3),
          rollback_to: rollbackTo
        };
      }
      if (path === 'aliases/llama/production/rollback' && init?.method === 'POST') {
        return event('rollback', 3, 2);
      }
      throw new Error(`unexpected ${init?.method ?? 'GET'} ${path}`);
    });
  }

  it('picks an alias, confirms the move and posts the rollback', async () => {
    const api = server(2);
    const { ask, asked, said } = fakeAsk({ pick: labels => labels[0], confirm: true });
    expect(await runTarget(rollbackAlias, api.context, {}, ask)).toBe(true);
    expect(asked).toEqual([
      ['pick', 'Roll back which alias?', ['llama@production → #3']],
      ['confirm', 'Roll back alias', 'Move llama@production back from 1.3 (int4) #3 to release #2?']
    ]);
    expect(api.requests.map(([path, init]) => [path, init?.method])).toEqual([
      ['aliases', undefined],
      ['aliases/llama/production', undefined],
      ['aliases/llama/production/rollback', 'POST']
    ]);
    expect(said).toEqual([['success', 'llama@production is back on 1.2 #2.']]);
    expect(api.emitted).toContainEqual(['registry:open-model', 'llama']);
  });

  it('takes {model, alias}; a refused confirmation posts nothing', async () => {
    const api = server(2);
    const { ask } = fakeAsk({ confirm: false });
    expect(
      await runTarget(rollbackAlias, api.context, { model: 'llama', alias: 'production' }, ask)
    ).toBe(false);
    expect(api.requests.map(([, init]) => init?.method ?? 'GET')).not.toContain('POST');
  });

  it('says there is nothing to roll back to, and posts nothing', async () => {
    const api = server(null);
    const { ask, asked, said } = fakeAsk({ confirm: true });
    expect(
      await runTarget(rollbackAlias, api.context, { model: 'llama', alias: 'production' }, ask)
    ).toBe(false);
    expect(asked).toEqual([]);
    expect(said).toEqual([
      ['error', 'llama@production has had no target before release #3; nothing to roll back to.']
    ]);
    expect(api.requests.map(([, init]) => init?.method ?? 'GET')).not.toContain('POST');
    const half = fakeAsk({ confirm: true });
    expect(await runTarget(rollbackAlias, api.context, { alias: 'production' }, half.ask)).toBe(
      false
    );
    expect(half.said).toEqual([['error', 'rollback-alias takes both model and alias, or neither']]);
  });
});
