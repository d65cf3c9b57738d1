import { APIError } from '../src/api';
import {
  allowedTransitions,
  auditSummary,
  changedKeys,
  formErrors,
  matchesSearch,
  modelBody,
  parseTags,
  quantizationStored,
  releaseBody,
  releaseLabel,
  roleRefusal
} from '../src/registry';
import type { AuditEvent } from '../src/types';

describe('registry forms', () => {
  it('splits tags on commas and spaces, once each', () => {
    expect(parseTags('llm, chat  gguf,,llm ')).toEqual(['llm', 'chat', 'gguf']);
    expect(parseTags('  ')).toEqual([]);
  });

  it('builds the model body without empty optional fields', () => {
    expect(modelBody({ name: ' m1 ', storagePath: ' src/m1 ', baseModel: '', tags: '' })).toEqual({
      name: 'm1',
      storage_path: 'src/m1'
    });
    expect(
      modelBody({ name: 'm1', storagePath: 'hf://a/b', baseModel: ' llama ', tags: 'x, y' })
    ).toEqual({ name: 'm1', storage_path: 'hf://a/b', base_model: 'llama', tags: ['x', 'y'] });
  });

  it('builds the release body; an empty quantization is left to the server', () => {
    expect(
      releaseBody('m1', {
        version: ' 1.0 ',
        quantization: '',
        notes: ' ',
        autoBuild: false,
        mlflowRun: ' '
      })
    ).toEqual({ model: 'm1', version: '1.0' });
    expect(
      releaseBody('m1', {
        version: '2',
        quantization: 'int4',
        notes: 'fast',
        autoBuild: true,
        mlflowRun: ' runs:/0a1b/model '
      })
    ).toEqual({
      model: 'm1',
      version: '2',
      quantization: 'int4',
      release_notes: 'fast',
      auto_build: true,
      mlflow_run: 'runs:/0a1b/model'
    });
  });

  it('says when the server stored another spelling of the quantization typed', () => {
    expect(quantizationStored(' Q4_K_M ', 'gguf-q4_k_m')).toBe(
      'quantization Q4_K_M is stored as gguf-q4_k_m'
    );
    expect(quantizationStored('fp16', 'fp16')).toBeNull();
    expect(quantizationStored('', 'none')).toBeNull();
  });

  it('puts a field error next to its input, without the field prefix', () => {
    const error = new APIError(
      400,
      'InvalidInput',
      "name: must start with a letter or digit (got 'bad name!')",
      'name'
    );
    expect(formErrors(error, ['name', 'storage_path'])).toEqual({
      fields: { name: "must start with a letter or digit (got 'bad name!')" }
    });
  });

  it('maps an item of a list field to the list input', () => {
    const error = new APIError(400, 'InvalidInput', 'tags[1]: must start with a letter', 'tags[1]');
    expect(formErrors(error, ['tags'])).toEqual({ fields: { tags: 'must start with a letter' } });
  });

  it('shows an error of no input of the form above it, whole', () => {
    const conflict = new APIError(404, 'NotFound', "model 'x' does not exist", 'model');
    expect(formErrors(conflict, ['version'])).toEqual({
      fields: {},
      general: "model 'x' does not exist"
    });
    const network = new APIError(0, 'network', 'unreachable');
    expect(formErrors(network, ['version'])).toEqual({ fields: {}, general: 'unreachable' });
  });
});

describe('model search', () => {
  it('matches name or description in any case, as the server does', () => {
    const model = { name: 'Llama-3-8B', description: 'Chat tuned' };
    expect(matchesSearch(model, '')).toBe(true);
    expect(matchesSearch(model, ' llama ')).toBe(true);
    expect(matchesSearch(model, 'CHAT')).toBe(true);
    expect(matchesSearch(model, 'mistral')).toBe(false);
    expect(matchesSearch({ name: 'm', description: null }, 'x')).toBe(false);
  });
});

describe('release lifecycle', () => {
  it('offers the transitions the server allows', () => {
    expect(allowedTransitions('candidate')).toEqual(['promote', 'deprecate']);
    expect(allowedTransitions('released')).toEqual(['demote', 'deprecate']);
    expect(allowedTransitions('demoted')).toEqual(['promote', 'deprecate']);
    expect(allowedTransitions('deprecated')).toEqual([]);
  });

  it('says why a role may not move a release or an alias, and trusts the server when it does not know', () => {
    const as = (role: 'reader' | 'writer' | 'release_manager') => ({
      user: 'ada',
      role,
      protected_aliases: ['production']
    });
    expect(roleRefusal(as('writer'), 'promote')).toBe(
      'promote: needs the release manager role (you are a writer)'
    );
    expect(roleRefusal(as('reader'), 'deprecate')).toBe(
      'deprecate: needs the release manager role (you are a reader)'
    );
    expect(roleRefusal(as('release_manager'), 'demote')).toBeUndefined();
    expect(roleRefusal(undefined, 'promote')).toBeUndefined();
    expect(roleRefusal(as('writer'), 'rollback', 'staging')).toBeUndefined();
    expect(roleRefusal(as('reader'), 'rollback', 'staging')).toBe(
      'rollback: needs the writer role (you are a reader)'
    );
    expect(roleRefusal(as('writer'), 'rollback', 'production')).toBe(
      "rollback 'production' (a protected alias): needs the release manager role (you are a writer)"
    );
    expect(roleRefusal(as('release_manager'), 'rollback', 'production')).toBeUndefined();
  });

  it('labels a release with its quantization unless none', () => {
    expect(releaseLabel({ version: '1.0', quantization: 'none' })).toBe('1.0');
    expect(releaseLabel({ version: '1.0', quantization: 'gguf-q4_k_m' })).toBe('1.0 (gguf-q4_k_m)');
  });
});

describe('audit history', () => {
  const event = (e: Partial<AuditEvent>): AuditEvent => ({
    id: 1,
    at: '2024-05-01T00:00:00Z',
    actor: 'alice',
    action: 'create',
    entity_type: 'model',
    entity_id: 'm1',
    model_id: 1,
    before: null,
    after: null,
    ...e
  });

  it('words creations and deletions', () => {
    expect(auditSummary(event({ after: { name: 'm1' } }))).toBe('created model m1');
    expect(
      auditSummary(
        event({
          entity_type: 'release',
          entity_id: '7',
          after: { version: '1.0', quantization: 'int4' }
        })
      )
    ).toBe('created release 1.0 (int4)');
    expect(
      auditSummary(
        event({
          action: 'delete',
          entity_type: 'release',
          entity_id: '7',
          before: { version: '1.0', quantization: 'none' }
        })
      )
    ).toBe('deleted release 1.0');
  });

  it('words transitions with the status change', () => {
    const promoted = event({
      action: 'promote',
      entity_type: 'release',
      entity_id: '7',
      before: { version: '1.0', quantization: 'none', status: 'candidate' },
      after: { version: '1.0', quantization: 'none', status: 'released' }
    });
    expect(auditSummary(promoted)).toBe('promoted release 1.0: candidate → released');
  });

  it('names the fields an update changed, timestamps left out', () => {
    const before = { description: null, tags: ['a'], updated_at: 'x', storage_path: 'p' };
    const after = { description: 'd', tags: ['a', 'b'], updated_at: 'y', storage_path: 'p' };
    expect(changedKeys(before, after)).toEqual(['description', 'tags']);
    expect(auditSummary(event({ action: 'update', before, after }))).toBe(
      'updated model m1: description, tags'
    );
  });

  it('words alias changes', () => {
    const set = event({
      action: 'set_alias',
      entity_type: 'alias',
      entity_id: 'm1@prod',
      after: { model: 'm1', alias: 'prod', release_id: 4 }
    });
    expect(auditSummary(set)).toBe('alias prod → release #4');
    expect(auditSummary({ ...set, before: { alias: 'prod', release_id: 3 } })).toBe(
      'alias prod → release #4 (was #3)'
    );
    expect(
      auditSummary(
        event({
          action: 'delete_alias',
          entity_type: 'alias',
          entity_id: 'm1@prod',
          before: { alias: 'prod', release_id: 4 }
        })
      )
    ).toBe('removed alias prod (was release #4)');
  });
});
