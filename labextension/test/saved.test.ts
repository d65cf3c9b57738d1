import type { ReadonlyJSONObject } from '@lumino/coreutils';

import { SavedState } from '../src/saved';

describe('SavedState', () => {
  function state() {
    const saves: ReadonlyJSONObject[] = [];
    const saved = new SavedState(values => saves.push(values));
    let loads = 0;
    saved.loaded.connect(() => loads++);
    return { saved, saves, loaded: () => loads };
  }

  it('takes the stored values on load and saves every later change', () => {
    const { saved, saves, loaded } = state();
    saved.load({ tab: 'builds', 'builds.build': 7 });
    expect(loaded()).toBe(1);
    expect(saves).toEqual([]); // nothing changed: nothing written back
    expect(saved.get('tab')).toBe('builds');
    saved.set('builds.build', 8);
    saved.set('tab', null);
    expect(saves).toEqual([{ tab: 'builds', 'builds.build': 8 }, { 'builds.build': 8 }]);
    expect(saved.get('tab')).toBeUndefined();
  });

  it('keeps a change made before the load over the stored value, and saves it then', () => {
    const { saved, saves } = state();
    saved.set('registry.model', 'llama');
    expect(saves).toEqual([]); // not before the stored state is known
    saved.load({ 'registry.model': 'old', tab: 'registry' });
    expect(saved.get('registry.model')).toBe('llama');
    expect(saves).toEqual([{ 'registry.model': 'llama', tab: 'registry' }]);
  });

  it('loads nothing from a missing state and keeps memory only without a store', () => {
    const saved = new SavedState();
    saved.load(undefined);
    saved.set('jobs.job', 3);
    expect(saved.get('jobs.job')).toBe(3);
  });
});
