import {
  activeIds,
  anyEnded,
  deleteRequest,
  downloadBody,
  downloadOf,
  EMPTY_FORM,
  revisionLabel,
  splitGlobs
} from '../src/models';
import type { Job } from '../src/types';

function job(id: number, state: Job['state'], params: Job['params'] = {}): Job {
  return {
    id,
    kind: 'hub.download',
    params,
    state,
    owner: 'me',
    place: null,
    progress: { done: 0, total: null, unit: 'B', fraction: null, rate: null, eta_seconds: null },
    message: '',
    error: null,
    result: null,
    cancel_requested: false,
    log_count: 0,
    created_at: '2024-01-01T00:00:00Z',
    started_at: null,
    finished_at: null,
    elapsed_seconds: null
  };
}

describe('the download form', () => {
  it('splits comma-separated globs', () => {
    expect(splitGlobs('*.json, *q4*')).toEqual(['*.json', '*q4*']);
    expect(splitGlobs(' *.gguf ,, ')).toEqual(['*.gguf']);
    expect(splitGlobs('  ')).toBeUndefined();
  });

  it('leaves empty optional inputs out of the body', () => {
    expect(downloadBody({ ...EMPTY_FORM, repo: ' org/name ' })).toEqual({ repo_id: 'org/name' });
    expect(
      downloadBody({
        repo: 'org/name',
        revision: ' v1 ',
        include: '*.json, *q4*',
        exclude: '*.bin'
      })
    ).toEqual({
      repo_id: 'org/name',
      revision: 'v1',
      allow_patterns: ['*.json', '*q4*'],
      ignore_patterns: ['*.bin']
    });
  });
});

describe('download rows', () => {
  it('reads repo, revision and globs from the params', () => {
    expect(
      downloadOf(
        job(1, 'running', { repo_id: 'org/a', revision: 'v2', allow_patterns: ['*.json'] })
      )
    ).toEqual({ repo: 'org/a', revision: 'v2', include: ['*.json'], exclude: [] });
    expect(downloadOf(job(2, 'queued', { repo_id: 'org/b', ignore_patterns: null }))).toEqual({
      repo: 'org/b',
      revision: 'main',
      include: [],
      exclude: []
    });
  });

  it('notices a download that ended since the last look', () => {
    const before = activeIds([job(1, 'running'), job(2, 'queued'), job(3, 'succeeded')]);
    expect([...before].sort()).toEqual([1, 2]);
    expect(anyEnded(before, [job(1, 'running'), job(2, 'running')])).toBe(false);
    expect(anyEnded(before, [job(1, 'succeeded'), job(2, 'running')])).toBe(true);
    expect(anyEnded(before, [job(2, 'running')])).toBe(true); // left the page
    expect(anyEnded(new Set(), [job(4, 'succeeded')])).toBe(false);
  });
});

describe('local models', () => {
  it('names a revision by its refs, else its short commit', () => {
    expect(revisionLabel({ refs: ['main', 'v1'], commit: 'a'.repeat(40) })).toBe('main, v1');
    expect(revisionLabel({ refs: [], commit: '0123456789abcdef' })).toBe('0123456789');
  });

  it('deletes the whole repo or one revision, forced only when asked', () => {
    expect(deleteRequest({ repo_id: 'org/name' }, { revision: null, force: false })).toEqual({
      path: 'hub/models/org/name',
      query: { revision: undefined, force: undefined }
    });
    expect(deleteRequest({ repo_id: 'my org/x+y' }, { revision: 'abc123', force: true })).toEqual({
      path: 'hub/models/my%20org/x%2By',
      query: { revision: 'abc123', force: true }
    });
    // a single-part id (the Hub's legacy canonical models)
    expect(deleteRequest({ repo_id: 'gpt2' }, { revision: null, force: false }).path).toBe(
      'hub/models/gpt2'
    );
  });
});
