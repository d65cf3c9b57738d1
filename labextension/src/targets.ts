/**
 * Palette commands that act on one thing, as a row's button does: pick the
 * release, build, job... from a list (or take it from the command's args), ask
 * what else the action needs (a confirmation, an alias name), run it, say the
 * outcome, and show the thing in its tab.
 */
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { REFRESH } from './actions';
import type { IMLOpsContext } from './context';
import { apiPath, asAPIError, fetchItems, IPage, Query } from './api';

/** One entry of a picker: the label shown and the thing it stands for. */
export interface IChoice<T> {
  label: string;
  value: T;
}

/** How a target command talks to the user: JupyterLab's dialogs and
 * notifications in the app (`commands.ts`), fakes in tests. */
export interface IAsk {
  /** One of `labels`, or null when the dialog was dismissed. */
  pick(title: string, labels: string[]): Promise<string | null>;
  /** Whether the user accepted `body` with the `accept` button. */
  confirm(title: string, body: string, accept: string): Promise<boolean>;
  /** A line of text, or null when dismissed. */
  text(title: string, label: string, placeholder?: string): Promise<string | null>;
  /** Say how it went. */
  say(kind: 'success' | 'error' | 'info', message: string): void;
}

/** What a target command shows afterwards: an action of its tab (see `useAction`). */
export interface IShow {
  action: string;
  args?: unknown;
}

/** A palette command on one target of type T. */
export interface ITargetCommand<T> {
  /** Command id, `mlops:<verb>-<what>`. */
  id: string;
  /** Label in the palette. */
  label: string;
  /** The picker's title. */
  title: string;
  /** What to say when there is nothing to pick. */
  none: string;
  /** The candidates, newest first. */
  choices(context: IMLOpsContext): Promise<IChoice<T>[]>;
  /** The target the command's args name (e.g. `{id: 3}`), or undefined to pick one. */
  fromArgs?(context: IMLOpsContext, args: ReadonlyPartialJSONObject): Promise<T> | undefined;
  /** Carry out the action (asking what it needs): the message to say, or null when
   * the user backed out. Without it the command only shows the target. */
  run?(context: IMLOpsContext, target: T, ask: IAsk): Promise<string | null>;
  /** The tab action that shows the target afterwards. */
  show?(target: T): IShow;
}

/** Run `command`: its target from `args` or picked, then `run`, then `show`.
 * Failures (the server's refusal too) are said, never thrown. Resolves to
 * whether the action was carried out. */
export async function runTarget<T>(
  command: ITargetCommand<T>,
  context: IMLOpsContext,
  args: ReadonlyPartialJSONObject,
  ask: IAsk
): Promise<boolean> {
  try {
    let target: T;
    const named = command.fromArgs?.(context, args);
    if (named) {
      target = await named;
    } else {
      const choices = await command.choices(context);
      if (!choices.length) {
        ask.say('info', command.none);
        return false;
      }
      const label = await ask.pick(
        command.title,
        choices.map(choice => choice.label)
      );
      const choice = choices.find(c => c.label === label);
      if (!choice) {
        return false;
      }
      target = choice.value;
    }
    if (command.run) {
      const message = await command.run(context, target, ask);
      if (message === null) {
        return false;
      }
      ask.say('success', message);
      context.actions.emit(REFRESH);
    }
    if (command.show) {
      const { action, args: showArgs } = command.show(target);
      context.actions.emit(action, showArgs);
    }
    return true;
  } catch (reason) {
    ask.say('error', asAPIError(reason).message);
    return false;
  }
}

/** The `id` arg (or the arg `name`, e.g. `release_id`) as a positive integer (a number or a
 * string of digits), or undefined when absent. One that is not is refused with a message
 * naming it. */
export function idArg(args: ReadonlyPartialJSONObject, name = 'id'): number | undefined {
  const value = args[name];
  if (value === undefined || value === null) {
    return undefined;
  }
  const id = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0) {
    throw new Error(`${name} must be a positive integer, not ${JSON.stringify(value)}`);
  }
  return id;
}

/** The string arg `name`, or undefined when absent; anything else (or an empty string)
 * is refused with a message naming it. */
export function textArg(args: ReadonlyPartialJSONObject, name: string): string | undefined {
  const value = args[name];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'string' || !value.trim()) {
    throw new Error(`${name} must be a non-empty string, not ${JSON.stringify(value)}`);
  }
  return value.trim();
}

/** `fromArgs` of a thing `{id}` names: GET `<collection>/<id>`. */
export function byId<T>(collection: string) {
  return (context: IMLOpsContext, args: ReadonlyPartialJSONObject): Promise<T> | undefined => {
    const id = idArg(args);
    return id === undefined ? undefined : context.request<T>(apiPath(collection, id));
  };
}

/** The most items a picker offers (one request). */
export const PICK_MAX = 500;

/** The first PICK_MAX items of a list endpoint, for a picker. */
export function listItems<T>(
  context: IMLOpsContext,
  path: string,
  query: Query = {}
): Promise<T[]> {
  return fetchItems<T>((p, init) => context.request<IPage<T>>(p, init), path, query, PICK_MAX);
}
