/** What every tab of the sidebar is given. */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { INotebookTracker } from '@jupyterlab/notebook';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import type { ActionBus } from './actions';
import type { IRequestInit } from './api';
import type { IContentsEntry } from './folders';
import type { SavedState } from './saved';
import type { Caller } from './registry';

/** The sidebar's services, shared by the header and every tab. */
export interface IMLOpsContext {
  /** The application (commands, shell, service manager for kernels). */
  app: JupyterFrontEnd;
  /** `requestAPI` bound to the server's settings. */
  request<T>(path: string, init?: IRequestInit): Promise<T>;
  /** The entries of a workspace folder ('' the root), from Jupyter's contents API. */
  listFolder(folder: string): Promise<IContentsEntry[]>;
  /** Palette commands reach tabs here (see `useAction`). */
  actions: ActionBus;
  /** Notebooks, for the one in focus and its kernel (null without the notebook plugin). */
  notebooks: INotebookTracker | null;
  /** View state kept across reloads (see `useSaved`). */
  saved: SavedState;
  /** Who the server says the caller is, and their role (from `GET health`; unset until it answers). */
  caller?: Caller;
}

/** The props of a tab component. */
export interface ITabProps {
  context: IMLOpsContext;
  /** True while the panel is shown and this tab selected: poll only then. */
  active: boolean;
}

/** A command that opens a tab and has it carry out an action (see `useAction`).
 * A tab lists its actions in `tabs/index.ts`; they are registered at start, so
 * they work (and are in the palette) before the tab was ever shown. */
export interface ITabAction {
  /** Command id, `mlops:<verb>-<what>`. */
  id: string;
  /** Label in the palette and menus. */
  label: string;
  /** The action name the tab handles with `useAction(context, action, handler)`. */
  action: string;
  /** The handler's argument, made from the command's args (default: undefined). */
  args?: (commandArgs: ReadonlyPartialJSONObject) => unknown;
}
