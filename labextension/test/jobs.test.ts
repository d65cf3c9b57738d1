import { cancellable, finished, isActive, jobState } from '../src/jobs';

describe('job states', () => {
  it('knows which states are active', () => {
    expect(isActive('queued')).toBe(true);
    expect(isActive('running')).toBe(true);
    expect(isActive('succeeded')).toBe(false);
    expect(isActive('unknown')).toBe(false);
  });

  it('knows when a job has ended', () => {
    expect(finished({ state: 'queued' })).toBe(false);
    expect(finished({ state: 'running' })).toBe(false);
    expect(finished({ state: 'succeeded' })).toBe(true);
    expect(finished({ state: 'failed' })).toBe(true);
    expect(finished({ state: 'interrupted' })).toBe(true);
  });

  it('cancels only an active job not already cancelling', () => {
    expect(cancellable({ state: 'running', cancel_requested: false })).toBe(true);
    expect(cancellable({ state: 'queued', cancel_requested: false })).toBe(true);
    expect(cancellable({ state: 'running', cancel_requested: true })).toBe(false);
    expect(cancellable({ state: 'failed', cancel_requested: false })).toBe(false);
  });

  it('names a job state with its progress when known', () => {
    const progress = { done: 2, total: 5, unit: 'B', fraction: 0.4, rate: null, eta_seconds: null };
    expect(jobState({ state: 'running', progress })).toBe('running 40%');
    expect(jobState({ state: 'queued', progress: { ...progress, fraction: null } })).toBe('queued');
  });
});
