/** Command-palette entries of the sidebar, all under the category "MLOps". */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ICommandPalette } from '@jupyterlab/apputils';

import { REFRESH } from './actions';
import { jupyterAsk } from './dialogs';
import type { MLOpsPanel } from './panel';
import { TABS, TabId } from './tabs';
import { runTarget } from './targets';

export const CATEGORY = 'MLOps';

/** The command ids this module registers. */
export const CommandIDs = {
  open: 'mlops:open',
  refresh: 'mlops:refresh',
  openTab: (tab: TabId): string => `mlops:open-${tab}`
};

/** Show the panel, on `tab` if given. */
export function openPanel(app: JupyterFrontEnd, panel: MLOpsPanel, tab?: TabId): void {
  if (tab) {
    panel.tab = tab;
  }
  app.shell.activateById(panel.id);
}

/** `mlops:open`, `mlops:open-<tab>` for every tab, `mlops:refresh`, and the tabs' own
 * actions and commands on one thing (each picks its target when not given one). */
export function addCommands(
  app: JupyterFrontEnd,
  panel: MLOpsPanel,
  palette: ICommandPalette | null
): void {
  const add = (id: string, options: Parameters<typeof app.commands.addCommand>[1]) => {
    app.commands.addCommand(id, options);
    palette?.addItem({ command: id, category: CATEGORY });
  };
  add(CommandIDs.open, {
    label: 'Open the MLOps Sidebar',
    execute: () => openPanel(app, panel)
  });
  for (const tab of TABS) {
    add(CommandIDs.openTab(tab.id), {
      label: `Open MLOps ${tab.label}`,
      execute: () => openPanel(app, panel, tab.id)
    });
  }
  add(CommandIDs.refresh, {
    label: 'Refresh the MLOps Sidebar',
    execute: () => {
      panel.context.actions.emit(REFRESH);
    }
  });
  for (const tab of TABS) {
    for (const action of tab.actions ?? []) {
      add(action.id, {
        label: action.label,
        execute: args => {
          openPanel(app, panel, tab.id);
          panel.context.actions.emit(action.action, action.args?.(args));
        }
      });
    }
    for (const target of tab.targets ?? []) {
      add(target.id, {
        label: target.label,
        execute: async args => {
          openPanel(app, panel, tab.id);
          return runTarget(target, panel.context, args, jupyterAsk);
        }
      });
    }
  }
}
