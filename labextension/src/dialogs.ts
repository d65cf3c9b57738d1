/** The sidebar's dialogs and notifications, on JupyterLab's own. */
import { Dialog, InputDialog, Notification, showDialog } from '@jupyterlab/apputils';

import type { IAsk } from './targets';

/** Ask before an action that cannot simply be undone: whether the user accepted `body`. */
export async function confirm(title: string, body: string, label: string): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label })]
  });
  return result.button.accept;
}

/** `IAsk` through JupyterLab's input dialogs and notifications. */
export const jupyterAsk: IAsk = {
  async pick(title, labels) {
    const result = await InputDialog.getItem({ title, items: labels, current: 0 });
    return result.button.accept ? result.value : null;
  },
  confirm,
  async text(title, label, placeholder) {
    const result = await InputDialog.getText({ title, label, placeholder });
    return result.button.accept ? result.value : null;
  },
  say(kind, message) {
    Notification[kind](message, { autoClose: kind === 'error' ? false : 5000 });
  }
};
