/**
 * The sidebar's view state kept across reloads: the tab shown, the model, build or job
 * open, the search, a running repair. One JSON object saved in JupyterLab's IStateDB
 * (so per workspace); views read and write it through `useSaved`.
 */
import type { JSONValue, ReadonlyJSONObject } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

/** The saved view state: values by key, saved on every change once loaded. */
export class SavedState {
  /** `save` stores the whole state (e.g. `IStateDB.save`); none keeps it in memory only. */
  constructor(save?: (values: ReadonlyJSONObject) => void) {
    this._save = save;
  }

  /** Emitted once the stored state is loaded: views adopt the values they had. */
  get loaded(): ISignal<this, void> {
    return this._loaded;
  }

  /** Whether the stored state has been loaded. */
  get isLoaded(): boolean {
    return this._isLoaded;
  }

  /** The value of `key`, or undefined. */
  get(key: string): JSONValue | undefined {
    return this._values[key];
  }

  /** Set `key` (null removes it) and save; before `load` the change waits and wins over
   * the stored value. */
  set(key: string, value: JSONValue | null): void {
    if (value === null) {
      delete this._values[key];
    } else {
      this._values[key] = value;
    }
    this._changed.add(key);
    if (this._isLoaded) {
      this._save?.({ ...this._values });
    }
  }

  /** Take the stored state (values set meanwhile are kept), then save if anything changed. */
  load(stored: ReadonlyJSONObject | null | undefined): void {
    for (const [key, value] of Object.entries(stored ?? {})) {
      if (!this._changed.has(key) && value !== undefined) {
        this._values[key] = value as JSONValue;
      }
    }
    this._isLoaded = true;
    if (this._changed.size) {
      this._save?.({ ...this._values });
    }
    this._loaded.emit();
  }

  private _values: Record<string, JSONValue> = {};
  private _changed = new Set<string>();
  private _isLoaded = false;
  private _save?: (values: ReadonlyJSONObject) => void;
  private _loaded = new Signal<this, void>(this);
}
