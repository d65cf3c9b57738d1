/** React hooks the tabs use for live data and palette actions. */
import type { JSONValue } from '@lumino/coreutils';
import React, { useEffect, useRef, useState } from 'react';

import { ActionHandler, REFRESH } from './actions';
import { APIError, asAPIError } from './api';
import { IMLOpsContext } from './context';
import { Refresher } from './poll';

/** What `usePolled` gives a view. */
export interface IPolled<T> {
  /** The last answer (kept while a later tick fails). */
  data: T | undefined;
  /** The last tick's failure, cleared by the next success. */
  error: APIError | undefined;
  /** Tick now, e.g. after a change the user made. */
  refresh(): void;
}

/** Options of `usePolled`. */
export interface IPolledOptions {
  /** A name for debugging. */
  name: string;
  /** Milliseconds between ticks while all is well. */
  interval: number;
  /** Tick only while true: pass the tab's `active` (and anything else that hides the view). */
  active: boolean;
  /** Values that, when changed, make the view tick at once (e.g. a filter). */
  deps?: unknown[];
}

/** `fetch` run by one `Refresher` while `active`; re-run at once when `deps`
 * change or on `mlops:refresh`. Failures back the poll off. */
export function usePolled<T>(
  context: IMLOpsContext,
  fetch: () => Promise<T>,
  options: IPolledOptions
): IPolled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<APIError>();
  const fetchRef = useRef(fetch);
  fetchRef.current = fetch;
  const refresher = useRef<Refresher>();

  const latest = useRef(0);

  useEffect(() => {
    const r = new Refresher(
      async () => {
        const call = ++latest.current;
        try {
          const answer = await fetchRef.current();
          if (call === latest.current) {
            // an answer to a superseded call (the filter changed meanwhile) is dropped
            setData(answer);
            setError(undefined);
          }
        } catch (reason) {
          if (call === latest.current) {
            setError(asAPIError(reason));
          }
          throw reason;
        }
      },
      { name: options.name, interval: options.interval }
    );
    refresher.current = r;
    const handler = context.actions.connect(REFRESH, () => void r.refresh());
    return () => {
      handler.dispose();
      r.dispose();
    };
  }, []);

  useEffect(() => {
    refresher.current!.active = options.active;
  }, [options.active]);

  useEffect(() => {
    refresher.current!.interval = options.interval;
  }, [options.interval]);

  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    void refresher.current!.refresh();
  }, options.deps ?? []);

  return { data, error, refresh: () => void refresher.current?.refresh() };
}

/** Run `handler` for the palette action `name` while the component is mounted. */
export function useAction(context: IMLOpsContext, name: string, handler: ActionHandler): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    const connection = context.actions.connect(name, args => ref.current(args));
    return () => connection.dispose();
  }, [name]);
}

/** What `useRowRequest` gives a row's buttons. */
export interface IRowRequest {
  /** True while a request is under way (disable the buttons). */
  busy: boolean;
  /** The last failure's message, cleared by the next request. */
  error: string | undefined;
  /** Send `method` (no body) to `path`, then run `then` when it succeeded. */
  send(path: string, then?: () => void, method?: 'POST' | 'DELETE'): Promise<void>;
}

/** One request at a time from a row (cancel, promote, delete...), its failure kept for display. */
export function useRowRequest(context: IMLOpsContext): IRowRequest {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const send = async (path: string, then?: () => void, method = 'POST'): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await context.request(path, { method });
      then?.();
    } catch (reason) {
      setError(asAPIError(reason).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, send };
}

/** State kept across reloads under `key` of the sidebar's saved state (see `saved.ts`):
 * like `useState`, but a stored value that passes `valid` is taken when it loads. */
export function useSaved<T extends JSONValue>(
  context: IMLOpsContext,
  key: string,
  initial: T,
  valid: (value: unknown) => value is T
): [T, (value: T | ((current: T) => T)) => void] {
  const read = (): T | undefined => {
    const stored = context.saved.get(key);
    return valid(stored) ? stored : undefined;
  };
  const [value, setValue] = useState<T>(() => read() ?? initial);
  const current = useRef(value);
  current.current = value;
  useEffect(() => {
    const adopt = () => {
      const stored = read();
      if (stored !== undefined) {
        current.current = stored;
        setValue(stored);
      }
    };
    context.saved.loaded.connect(adopt);
    if (context.saved.isLoaded) {
      adopt(); // loaded between the first render and this effect
    }
    return () => {
      context.saved.loaded.disconnect(adopt);
    };
  }, [key]);
  const set = (next: T | ((current: T) => T)) => {
    const value = typeof next === 'function' ? next(current.current) : next;
    current.current = value;
    setValue(value);
    context.saved.set(key, value);
  };
  return [value, set];
}

/** `valid` of `useSaved` for a positive integer id or null. */
export function isIdOrNull(value: unknown): value is number | null {
  return value === null || (typeof value === 'number' && Number.isInteger(value) && value > 0);
}

/** `valid` of `useSaved` for a string. */
export function isString(value: unknown): value is string {
  return typeof value === 'string';
}

/** `valid` of `useSaved` for a boolean. */
export function isBoolean(value: unknown): value is boolean {
  return typeof value === 'boolean';
}

/** `valid` of `useSaved` for an object of strings (e.g. a value per notebook path). */
export function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every(item => typeof item === 'string')
  );
}

/** `valid` of `useSaved` for a string or null. */
export function isStringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/** Focus `ref` while `pending` (a palette action asked for it), as soon as `active` (the
 * tab may still be hidden when the action arrives); `before` runs first (e.g. to open a
 * section), `done` after. */
export function useFocusRequest(
  ref: React.RefObject<HTMLElement>,
  pending: boolean,
  active: boolean,
  done: () => void,
  before?: () => void
): void {
  useEffect(() => {
    if (pending && active) {
      before?.();
      done();
      // after the render `before` may cause
      requestAnimationFrame(() => {
        ref.current?.scrollIntoView({ block: 'nearest' });
        ref.current?.focus();
      });
    }
  }, [pending, active]);
}
