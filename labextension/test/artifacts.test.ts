import { artifactBody, EMPTY_ARTIFACT, nameFromPath } from '../src/artifacts';
import { ARTIFACT_TARGETS } from '../src/tabs/registry/artifact-targets';
import { ITargetCommand, runTarget } from '../src/targets';
import type { Artifact, Model, Release } from '../src/types';
import { fakeAsk, fakeContext, last } from './fakes';

const RELEASE: Release = {
  id: 3,
  model: 'llama',
  model_id: 1,
  version: '1.0',
  quantization: 'int4',
  release_notes: null,
  status: 'released',
  metadata: {},
  auto_build: false,
  mlflow_run: null,
  created_at: '2026-11-23T00:00:00Z',
  updated_at: '2026-11-23T00:00:00Z'
};

const MODEL = { id: 1, name: 'llama' } as Model;

function artifact(id: number, releaseId: number | null): Artifact {
  return {
    id,
    model_id: 1,
    release_id: releaseId,
    name: `a${id}.bin`,
    path: `s3://bucket/a${id}.bin`,
    kind: 'weights',
    size: null,
    sha256: null,
    created_at: '2026-11-23T00:00:00Z'
  };
}

const command = (id: string): ITargetCommand<any> => ARTIFACT_TARGETS.find(c => c.id === id)!;

/** Serves models, releases, artifacts and each by id; a POST answers the artifact it made. */
function server(artifacts: Artifact[]) {
  return fakeContext((path, init) => {
    const lists: Record<string, unknown[]> = {
      models: [MODEL],
      releases: [RELEASE],
      artifacts
    };
    if (path in lists && !init?.method) {
      return { items: lists[path], next_cursor: null };
    }
    if (path === 'artifacts' && init?.method === 'POST') {
      const body = init.json as { name: string; release_id?: number };
      return { ...artifact(7, body.release_id ?? null), name: body.name, kind: 'file' };
    }
    if (path === 'models/llama') {
      return MODEL;
    }
    if (path === 'releases/3') {
      return RELEASE;
    }
    const one = /^artifacts\/(\d+)$/.exec(path);
    if (one && !init?.method) {
      return artifacts.find(a => a.id === Number(one[1]));
    }
    return {};
  });
}

describe('the create-artifact form', () => {
  it('belongs to the release chosen, else to the model; empty optional fields left out', () => {
    const typed = { ...EMPTY_ARTIFACT, name: ' w.gguf ', path: ' s3://b/w.gguf ' };
    expect(artifactBody('llama', typed)).toEqual({
      model: 'llama',
      name: 'w.gguf',
      path: 's3://b/w.gguf',
      kind: 'file'
    });
    expect(
      artifactBody('llama', { ...typed, releaseId: '3', kind: 'weights', size: '12', sha256: 'ab' })
    ).toEqual({
      release_id: 3,
      name: 'w.gguf',
      path: 's3://b/w.gguf',
      kind: 'weights',
      size: 12,
      sha256: 'ab'
    });
  });

  it("names an artifact after its path's last part", () => {
    expect(nameFromPath('s3://bucket/models/model.gguf')).toBe('model.gguf');
    expect(nameFromPath('hf://org/name@main')).toBe('name');
    expect(nameFromPath('/data/weights/')).toBe('weights');
    expect(nameFromPath('s3://')).toBe('');
  });
});

describe('artifact commands', () => {
  it('adds an artifact to a release picked, named after its path when no name is given', async () => {
    const s = server([]);
    const { ask, asked, said } = fakeAsk({
      pick: labels => labels[1],
      text: ['s3://bucket/m/model.gguf', '']
    });
    expect(await runTarget(command('mlops:add-artifact'), s.context, {}, ask)).toBe(true);
    expect(asked).toEqual([
      [
        'pick',
        'Add an artifact to which model or release?',
        ['llama (the model)', 'llama 1.0 (int4) · released · #3']
      ],
      [
        'text',
        'Add an artifact to llama 1.0 (int4)',
        'Path: s3://bucket/key, hf://org/name or a file',
        's3://bucket/key'
      ],
      [
        'text',
        'Name of the artifact at s3://bucket/m/model.gguf',
        'Name (empty: model.gguf)',
        'model.gguf'
      ]
    ]);
    expect(last(s.requests)).toEqual([
      'artifacts',
      {
        method: 'POST',
        json: { release_id: 3, name: 'model.gguf', path: 's3://bucket/m/model.gguf' }
      }
    ]);
    expect(said).toEqual([['success', 'Added model.gguf (file) to llama 1.0 (int4).']]);
  });

  it('takes the model from {name}, and refuses both {name} and {release_id}', async () => {
    const s = server([]);
    const { ask } = fakeAsk({ text: ['/data/tokenizer.json', 'tok'] });
    expect(await runTarget(command('mlops:add-artifact'), s.context, { name: 'llama' }, ask)).toBe(
      true
    );
    expect(last(s.requests)?.[1]?.json).toEqual({
      model: 'llama',
      name: 'tok',
      path: '/data/tokenizer.json'
    });
    const both = fakeAsk({});
    expect(
      await runTarget(
        command('mlops:add-artifact'),
        s.context,
        { name: 'llama', release_id: 3 },
        both.ask
      )
    ).toBe(false);
    expect(both.said).toEqual([['error', 'add-artifact takes release_id or name, not both']]);
  });

  it('deletes a picked artifact after a confirmation naming what it belongs to', async () => {
    const s = server([artifact(4, 3), artifact(5, null)]);
    const { ask, asked, said } = fakeAsk({ pick: labels => labels[1], confirm: true });
    expect(await runTarget(command('mlops:delete-artifact'), s.context, {}, ask)).toBe(true);
    expect(asked[0]).toEqual([
      'pick',
      'Delete which artifact?',
      ['#4 a4.bin · weights · llama 1.0 (int4)', '#5 a5.bin · weights · llama']
    ]);
    expect(last(s.requests)).toEqual(['artifacts/5', { method: 'DELETE' }]);
    expect(said).toEqual([['success', 'Deleted the artifact a5.bin of llama.']]);
    expect(last(s.emitted)).toEqual(['registry:open-model', 'llama']);
  });
});
