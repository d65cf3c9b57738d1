/** The JupyterLab plugin: the MLOps sidebar, its commands and its saved state. */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStateDB } from '@jupyterlab/statedb';
import { ReadonlyJSONObject } from '@lumino/coreutils';

import { ActionBus } from './actions';
import { asAPIError, requestAPI } from './api';
import { addCommands } from './commands';
import { listFolder } from './folders';
import { IMLOpsContext } from './context';
import { mlopsIcon } from './icons';
import { MLOpsPanel, PANEL_ID } from './panel';
import { SavedState } from './saved';
import { isTabId } from './tabs';
import { API_VERSION, Health } from './types';
import { versionVerdict } from './version';

const PLUGIN_ID = 'jupyter_mlops:plugin';
/** IStateDB key of the sidebar's saved view state (`saved.ts`). */
const STATE_KEY = `${PLUGIN_ID}:sidebar`;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'A sidebar over the MLOps workbench: registry, dependencies, models, builds and jobs.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, IStateDB, INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    state: IStateDB | null,
    notebooks: INotebookTracker | null
  ) => {
    const saved = new SavedState(state ? values => void state.save(STATE_KEY, values) : undefined);
    const context: IMLOpsContext = {
      app,
      request: (path, init) => requestAPI(path, init),
      listFolder: folder => listFolder(folder, app.serviceManager.serverSettings),
      actions: new ActionBus(),
      notebooks,
      saved
    };
    const panel = new MLOpsPanel(context);
    panel.title.icon = mlopsIcon;
    panel.title.caption = 'MLOps';
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, PANEL_ID);
    addCommands(app, panel, palette);

    panel.tabChanged.connect((_, selected) => saved.set('tab', selected));
    saved.loaded.connect(() => {
      const tab = saved.get('tab');
      if (isTabId(tab)) {
        panel.tab = tab;
      }
    });
    if (state) {
      void Promise.all([state.fetch(STATE_KEY), app.restored]).then(
        ([stored]) => saved.load(stored as ReadonlyJSONObject | undefined),
        reason => {
          console.warn('jupyter_mlops: the saved sidebar state could not be read', reason);
          saved.load(null);
        }
      );
    } else {
      saved.load(null);
    }

    requestAPI<Health>('health')
      .then(health => {
        const verdict = versionVerdict(health.version, API_VERSION);
        if (verdict.compatibility !== 'same') {
          console.warn(`jupyter_mlops: ${verdict.message}`);
        }
        context.caller = {
          user: health.user,
          role: health.role,
          protected_aliases: health.protected_aliases
        };
        panel.verdict = verdict;
      })
      .catch(reason => {
        const error = asAPIError(reason);
        panel.verdict = {
          compatibility: 'incompatible',
          message:
            error.status === 404
              ? 'The jupyter_mlops server extension is not enabled in this Jupyter server: run `jupyter server extension enable jupyter_mlops` and restart it.'
              : `The MLOps API does not answer: ${error.message}`
        };
      });
  }
};

export default plugin;
