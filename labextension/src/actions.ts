/**
 * Palette commands reach the tabs through an `ActionBus`: the command (always
 * registered, so always in the palette) emits a named action, and the tab that
 * handles it (`useAction`) runs it. An action emitted before any handler is
 * connected, e.g. while the panel is still rendering, waits for the first one.
 */
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

/** Runs one action. */
export type ActionHandler = (args: unknown) => void;

/** Named actions from commands to the tabs that handle them. */
export class ActionBus {
  /** Handle `name` with `handler` until the returned disposable is disposed;
   * an action already waiting for a handler is run now. */
  connect(name: string, handler: ActionHandler): IDisposable {
    let handlers = this._handlers.get(name);
    if (!handlers) {
      handlers = new Set();
      this._handlers.set(name, handlers);
    }
    handlers.add(handler);
    if (this._pending.has(name)) {
      const args = this._pending.get(name);
      this._pending.delete(name);
      handler(args);
    }
    return new DisposableDelegate(() => {
      handlers!.delete(handler);
    });
  }

  /** Run every handler of `name`; with none connected, keep the action (the
   * latest one per name) for the first handler. Returns how many ran it. */
  emit(name: string, args?: unknown): number {
    const handlers = [...(this._handlers.get(name) ?? [])];
    if (!handlers.length) {
      this._pending.set(name, args);
      return 0;
    }
    handlers.forEach(handler => handler(args));
    return handlers.length;
  }

  private _handlers = new Map<string, Set<ActionHandler>>();
  private _pending = new Map<string, unknown>();
}

/** The action every live view handles by refreshing at once (`mlops:refresh`). */
export const REFRESH = 'refresh';
