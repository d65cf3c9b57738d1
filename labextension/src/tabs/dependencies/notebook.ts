/** The notebook in focus and its kernel, for the Dependencies tab. */
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { useEffect, useState } from 'react';

/** The notebook in focus and its kernel, following focus, session and kernel changes. */
export function useFocusedNotebook(tracker: INotebookTracker | null): {
  notebook: NotebookPanel | null;
  kernelId: string | null;
} {
  const [notebook, setNotebook] = useState<NotebookPanel | null>(tracker?.currentWidget ?? null);
  const [, setVersion] = useState(0);
  useEffect(() => {
    if (!tracker) {
      return;
    }
    const follow = (_: unknown, panel: NotebookPanel | null) => setNotebook(panel);
    tracker.currentChanged.connect(follow);
    setNotebook(tracker.currentWidget);
    return () => {
      tracker.currentChanged.disconnect(follow);
    };
  }, [tracker]);
  useEffect(() => {
    if (!notebook) {
      return;
    }
    const bump = () => setVersion(v => v + 1);
    const session = notebook.sessionContext;
    session.kernelChanged.connect(bump);
    session.sessionChanged.connect(bump);
    notebook.context.pathChanged.connect(bump);
    return () => {
      session.kernelChanged.disconnect(bump);
      session.sessionChanged.disconnect(bump);
      notebook.context.pathChanged.disconnect(bump);
    };
  }, [notebook]);
  const live = notebook && !notebook.isDisposed ? notebook : null;
  return { notebook: live, kernelId: live?.sessionContext.session?.kernel?.id ?? null };
}
