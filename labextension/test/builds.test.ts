import {
  buildBody,
  contextText,
  defaultTag,
  emptyPushForm,
  formErrors,
  IBuildForm,
  pushBody,
  pushReference,
  pushTarget,
  releaseLabel,
  shortImageId,
  splitImage,
  validateBuildForm,
  withoutRegistry
} from '../src/builds';
import { APIError } from '../src/api';

const FORM: IBuildForm = {
  releaseId: '7',
  accelerator: '',
  baseImage: '',
  tag: '',
  noCache: false
};

describe('build form', () => {
  it('needs a release', () => {
    expect(validateBuildForm(FORM)).toEqual({});
    expect(Object.keys(validateBuildForm({ ...FORM, releaseId: '' }))).toEqual(['release_id']);
    expect(Object.keys(validateBuildForm({ ...FORM, releaseId: '0' }))).toEqual(['release_id']);
  });

  it('sends only what was given, trimmed', () => {
    expect(buildBody(FORM)).toEqual({ release_id: 7 });
    expect(
      buildBody({
        releaseId: '12',
        accelerator: 'cpu',
        baseImage: ' python:3.12-slim ',
        tag: ' team/model:1 ',
        noCache: true
      })
    ).toEqual({
      release_id: 12,
      accelerator: 'cpu',
      base_image: 'python:3.12-slim',
      tag: 'team/model:1',
      no_cache: true
    });
  });
});

describe('default tag (as the server makes it)', () => {
  it('joins model, version and quantization', () => {
    expect(defaultTag('llama', '1.0', 'none')).toBe('llama:1.0');
    expect(defaultTag('llama', '1.0', '')).toBe('llama:1.0');
    expect(defaultTag('llama', '1.0', 'q4_k_m')).toBe('llama:1.0-q4_k_m');
  });

  it('fits the model and version to Docker grammar', () => {
    expect(defaultTag('My Model!!', '2.0', 'none')).toBe('my-model:2.0');
    expect(defaultTag('a__b..c', '1', 'none')).toBe('a_b.c:1');
    expect(defaultTag('***', '.v1+x', 'none')).toBe('model:v1-x');
    expect(defaultTag('m', '...', 'none')).toBe('m:latest');
    expect(defaultTag('m', 'v'.repeat(200), 'none')).toBe(`m:${'v'.repeat(128)}`);
  });
});

describe('push form', () => {
  it('leaves empty optional fields out and never trims the password', () => {
    expect(pushBody({ ...emptyPushForm(), registry: ' 127.0.0.1:5000 ' })).toEqual({
      registry: '127.0.0.1:5000'
    });
    expect(
      pushBody({
        registry: 'ghcr.io',
        repository: 'team/model',
        tag: '1',
        username: ' me ',
        password: ' secret '
      })
    ).toEqual({
      registry: 'ghcr.io',
      repository: 'team/model',
      tag: '1',
      username: 'me',
      password: ' secret '
    });
  });

  it('shows where the image would go, with the server defaults', () => {
    expect(pushTarget(emptyPushForm(), 'e2e/model:1')).toBe('');
    expect(pushTarget({ ...emptyPushForm(), registry: 'reg:5000' }, 'e2e/model:1')).toBe(
      'reg:5000/e2e/model:1'
    );
    expect(
      pushTarget({ ...emptyPushForm(), registry: 'ghcr.io' }, 'localhost:5000/team/model')
    ).toBe('ghcr.io/team/model:latest');
    expect(
      pushTarget({ ...emptyPushForm(), registry: 'r', repository: 'x/y', tag: '2' }, 'a:1')
    ).toBe('r/x/y:2');
  });
});

describe('image references', () => {
  it('splits name and tag, not at a registry port', () => {
    expect(splitImage('model:1.0')).toEqual(['model', '1.0']);
    expect(splitImage('reg:5000/model')).toEqual(['reg:5000/model', 'latest']);
    expect(splitImage('reg:5000/model:2')).toEqual(['reg:5000/model', '2']);
  });

  it('drops a registry host in front', () => {
    expect(withoutRegistry('team/model')).toBe('team/model');
    expect(withoutRegistry('ghcr.io/team/model')).toBe('team/model');
    expect(withoutRegistry('reg:5000/model')).toBe('model');
    expect(withoutRegistry('localhost/model')).toBe('model');
    expect(withoutRegistry('model')).toBe('model');
  });
});

describe('row text', () => {
  it('names releases', () => {
    expect(releaseLabel({ model: 'llama', version: '1.0', quantization: 'none' })).toBe(
      'llama:1.0:none'
    );
  });

  it('shortens image ids like docker images', () => {
    expect(shortImageId(`sha256:${'0123456789abcdef'.repeat(4)}`)).toBe('0123456789ab');
    expect(shortImageId(null)).toBe('');
  });

  it('describes the context once known', () => {
    expect(contextText({ context_bytes: null, needed_bytes: null })).toBe('');
    expect(contextText({ context_bytes: 20_480, needed_bytes: 16_384 })).toBe(
      'context 20.5 KB sent / 16.4 KB needed'
    );
  });

  it('shows a push as reference@digest once pushed', () => {
    expect(pushReference({ reference: 'r/m:1', digest: null })).toBe('r/m:1');
    expect(pushReference({ reference: 'r/m:1', digest: 'sha256:ab' })).toBe('r/m:1@sha256:ab');
  });
});

describe('formErrors', () => {
  const fields = ['tag', 'base_image'];

  it('puts a field error under its field', () => {
    const error = new APIError(400, 'InvalidInput', 'tag: must be an image reference', 'tag');
    expect(formErrors(error, fields)).toEqual({ tag: 'tag: must be an image reference' });
  });

  it('puts other errors on the form, and says when Docker is not there', () => {
    const elsewhere = new APIError(400, 'InvalidInput', 'storage_path: gone', 'storage_path');
    expect(formErrors(elsewhere, fields)).toEqual({ '': 'storage_path: gone' });
    const down = new APIError(503, 'Unavailable', 'no Docker daemon answers at unix:///x');
    expect(formErrors(down, fields)).toEqual({
      '': 'Docker is not available: no Docker daemon answers at unix:///x'
    });
    expect(formErrors(new Error('boom'), fields)).toEqual({ '': 'boom' });
  });
});
