import { ActionBus } from '../src/actions';

describe('ActionBus', () => {
  it('runs every connected handler', () => {
    const bus = new ActionBus();
    const seen: unknown[] = [];
    bus.connect('jobs:show', args => seen.push(['a', args]));
    bus.connect('jobs:show', args => seen.push(['b', args]));
    expect(bus.emit('jobs:show', 3)).toBe(2);
    expect(seen).toEqual([
      ['a', 3],
      ['b', 3]
    ]);
  });

  it('keeps an action emitted before any handler for the first one', () => {
    const bus = new ActionBus();
    expect(bus.emit('jobs:show', 1)).toBe(0);
    expect(bus.emit('jobs:show', 2)).toBe(0);
    const seen: unknown[] = [];
    bus.connect('jobs:show', args => seen.push(args));
    expect(seen).toEqual([2]);
    bus.connect('jobs:show', args => seen.push(args));
    expect(seen).toEqual([2]);
  });

  it('stops calling a disposed handler', () => {
    const bus = new ActionBus();
    const seen: unknown[] = [];
    const connection = bus.connect('refresh', () => seen.push(1));
    connection.dispose();
    expect(bus.emit('refresh')).toBe(0);
    expect(seen).toEqual([]);
  });
});
