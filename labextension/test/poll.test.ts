import { Refresher } from '../src/poll';

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe('Refresher', () => {
  let refresher: Refresher;
  afterEach(() => {
    refresher?.dispose();
    jest.restoreAllMocks();
  });

  it('does not tick until its view is shown, then ticks at once and on every interval', async () => {
    let ticks = 0;
    refresher = new Refresher(async () => void ticks++, { name: 't', interval: 40 });
    await sleep(120);
    expect(ticks).toBe(0);
    refresher.active = true;
    await sleep(10);
    expect(ticks).toBe(1);
    await sleep(150);
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  it('stops ticking while hidden and ticks at once when shown again', async () => {
    let ticks = 0;
    refresher = new Refresher(async () => void ticks++, { name: 't', interval: 30 });
    refresher.active = true;
    await sleep(80);
    refresher.active = false;
    const hiddenAt = ticks;
    await sleep(150);
    expect(ticks).toBe(hiddenAt);
    refresher.active = true;
    await sleep(10);
    expect(ticks).toBe(hiddenAt + 1);
  });

  it('backs off after failures and recovers after a success', async () => {
    // Lumino picks each wait at random between the interval and twice the last
    // one; the top of that range makes the doubling exact.
    jest.spyOn(Math, 'random').mockReturnValue(0.9999);
    const times: number[] = [];
    let fail = true;
    refresher = new Refresher(
      async () => {
        times.push(Date.now());
        if (fail) {
          throw new Error('server down');
        }
      },
      { name: 't', interval: 20, max: 10_000 }
    );
    refresher.active = true;
    await sleep(400);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // Without backoff: a tick every 20 ms, about 20 of them.
    expect(times.length).toBeLessThanOrEqual(10);
    expect(gaps[gaps.length - 1]).toBeGreaterThanOrEqual(4 * 20);
    fail = false;
    await refresher.refresh();
    const recovered = times.length;
    await sleep(100);
    expect(times.length - recovered).toBeGreaterThanOrEqual(3);
  });

  it('a shorter interval moves the pending tick closer; a longer one waits', async () => {
    let ticks = 0;
    refresher = new Refresher(async () => void ticks++, { name: 't', interval: 10_000 });
    refresher.active = true;
    await sleep(20);
    expect(ticks).toBe(1); // the next one is 10 s away
    refresher.interval = 30;
    await sleep(100);
    expect(ticks).toBeGreaterThanOrEqual(2);
    refresher.interval = 10_000;
    const slow = ticks;
    await sleep(100);
    expect(ticks - slow).toBeLessThanOrEqual(1); // at most the tick already due
    refresher.active = false; // clears the 10 s timer (dispose leaves it to run idle)
  });

  it('refresh() does nothing while hidden', async () => {
    let ticks = 0;
    refresher = new Refresher(async () => void ticks++, { name: 't', interval: 1000 });
    await refresher.refresh();
    expect(ticks).toBe(0);
  });
});
