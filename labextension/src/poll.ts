/**
 * Live updates: one `Refresher` per view (a tab's list, the dashboard, the one
 * log being read), never one per job. It ticks only while its view is shown,
 * stands by while the browser tab is hidden and backs off after failures.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';

/** How often a refresher ticks. */
export interface IRefresherOptions {
  /** A name for debugging. */
  name: string;
  /** Milliseconds between ticks while all is well. */
  interval: number;
  /** Longest wait, in milliseconds, after repeated failures (default 60 s). */
  max?: number;
}

/** Backoff factor after a failed tick. */
export const BACKOFF = 2;

/** Runs `tick` every `interval` ms while `active`; stopped (no timer at all)
 * while inactive, in standby while the document is hidden. */
export class Refresher implements IDisposable {
  constructor(tick: () => Promise<unknown>, options: IRefresherOptions) {
    this._poll = new Poll({
      auto: false,
      factory: tick,
      frequency: {
        interval: options.interval,
        backoff: BACKOFF,
        max: Math.max(options.max ?? 60_000, options.interval)
      },
      name: `jupyter_mlops:${options.name}`,
      standby: 'when-hidden'
    });
  }

  /** Whether the view is shown: ticks run only while true. Turning it on ticks at once. */
  get active(): boolean {
    return this._active;
  }

  set active(active: boolean) {
    if (active === this._active || this.isDisposed) {
      return;
    }
    this._active = active;
    if (active) {
      void this._poll.start();
    } else {
      void this._poll.stop();
    }
  }

  /** Milliseconds between ticks while all is well. */
  get interval(): number {
    return this._poll.frequency.interval;
  }

  /** A shorter interval also moves the pending tick closer (e.g. a job just started: show
   * its progress in 2 s, not after the idle 15 s already scheduled). */
  set interval(interval: number) {
    const frequency = this._poll.frequency;
    if (interval === frequency.interval) {
      return;
    }
    this._poll.frequency = {
      ...frequency,
      interval,
      max: Math.max(frequency.max, interval)
    };
    if (this._active && interval < frequency.interval && this._poll.state.phase !== 'rejected') {
      void this._poll.schedule({ interval, phase: 'resolved' });
    }
  }

  /** Tick now (if active), e.g. after the user changed something. */
  refresh(): Promise<void> {
    return this._active ? this._poll.refresh() : Promise.resolve();
  }

  /** The Lumino poll, for its `ticked` signal and `state`. */
  get poll(): Poll {
    return this._poll;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  dispose(): void {
    this._poll.dispose();
  }

  private _active = false;
  private readonly _poll: Poll;
}
