import { isActive, publishBody, storageOutcome, storedText } from '../src/storage';

describe('storedText', () => {
  it('says files and bytes of the last scan, nothing before one', () => {
    expect(storedText(null)).toBe('');
    expect(storedText(undefined)).toBe('');
    expect(storedText({ files: 1, bytes: 2048 })).toBe('1 file · 2.05 KB');
    expect(storedText({ files: 1200, bytes: 0 })).toMatch(/^1,200 files · /);
  });
});

describe('publishBody', () => {
  it('trims, names the model, and leaves an empty source out', () => {
    expect(publishBody('m', { destination: ' s3://b/m ', source: '  ' })).toEqual({
      destination: 's3://b/m',
      model: 'm'
    });
    expect(publishBody('m', { destination: 's3://b/m', source: ' src/m ' })).toEqual({
      destination: 's3://b/m',
      model: 'm',
      source: 'src/m'
    });
  });
});

describe('storageOutcome', () => {
  it('says what a scan changed', () => {
    const job = {
      kind: 'storage.scan',
      state: 'succeeded' as const,
      error: null,
      result: {
        files: 3,
        bytes: 1000,
        added_count: 1,
        changed_count: 2,
        removed_count: 0,
        unchanged: 0
      }
    };
    expect(storageOutcome(job)).toMatch(
      /^Scanned 3 files \(.*\): 1 added, 2 changed, 0 removed, 0 unchanged$/
    );
  });

  it('says what a publish sent and kept', () => {
    const job = {
      kind: 'storage.publish',
      state: 'succeeded' as const,
      error: null,
      result: { files: 2, bytes: 10, uploaded_files: 1, skipped_files: 1, destination: 's3://b/m' }
    };
    expect(storageOutcome(job)).toMatch(/to s3:\/\/b\/m: 1 uploaded, 1 already there$/);
  });

  it('gives a failure its error', () => {
    const job = {
      kind: 'storage.publish',
      state: 'failed' as const,
      error: 'access denied',
      result: null
    };
    expect(storageOutcome(job)).toBe('failed: access denied');
    expect(isActive({ state: 'running' })).toBe(true);
    expect(isActive({ state: 'cancelled' })).toBe(false);
  });
});
