/** The project folder of a notebook, chosen in a path field that offers the workspace's folders. */
import React, { useEffect, useRef, useState } from 'react';

import { IMLOpsContext } from '../../context';
import { folderSuggestions, splitTyped } from '../../folders';

/** Typing pause before the folder typed into is listed. */
const LIST_DELAY = 200;
const SUGGESTIONS = 'jp-mlops-deps-project-folders';

/** Props of `ProjectChooser`. */
export interface IProjectChooserProps {
  context: IMLOpsContext;
  /** The folder chosen for this notebook (a workspace path), if any. */
  chosen: string | undefined;
  /** Why the last folder tried was refused (the server's message), shown under the field. */
  error: string | undefined;
  /** True while a folder is being tried. */
  busy: boolean;
  /** Try `folder` (a workspace path, or an absolute one); null goes back to finding the
   * project from the notebook's folder. */
  onChoose(folder: string | null): void;
}

/** A path field offering the workspace's folders as the user types (those of the folder typed
 * so far that start with the rest), a button that uses the folder, and one that forgets it. */
export function ProjectChooser(props: IProjectChooserProps): JSX.Element {
  const { context, chosen, error } = props;
  const [typed, setTyped] = useState(chosen ?? '');
  const [folders, setFolders] = useState<string[]>([]);
  const listed = useRef<string | null>(null);

  useEffect(() => {
    const where = splitTyped(typed);
    const timer = setTimeout(() => {
      if (!where) {
        setFolders([]);
        return;
      }
      const request = `${where.folder}\n${where.start}`;
      listed.current = request;
      context.listFolder(where.folder).then(
        entries => {
          if (listed.current === request) {
            setFolders(folderSuggestions(entries, where.start));
          }
        },
        () => listed.current === request && setFolders([]) // a folder not (yet) there
      );
    }, LIST_DELAY);
    return () => clearTimeout(timer);
  }, [typed]);

  return (
    <form
      className="jp-mlops-deps-project"
      data-testid="mlops-deps-project-form"
      onSubmit={event => {
        event.preventDefault();
        if (typed.trim()) {
          props.onChoose(typed.trim());
        }
      }}
    >
      <div className="jp-mlops-deps-project-field">
        <input
          type="text"
          className="jp-mlops-input"
          list={SUGGESTIONS}
          value={typed}
          placeholder="project folder"
          title="The folder holding pyproject.toml or requirements.txt, from the workspace root (or an absolute path)"
          aria-label="Project folder"
          aria-invalid={!!error}
          spellCheck={false}
          data-testid="mlops-deps-project"
          onChange={e => setTyped(e.target.value)}
        />
        <button
          type="submit"
          className="jp-mlops-button"
          disabled={props.busy || !typed.trim()}
          data-testid="mlops-deps-project-use"
        >
          {props.busy ? 'Checking…' : 'Use'}
        </button>
      </div>
      <datalist id={SUGGESTIONS} data-testid="mlops-deps-project-folders">
        {folders.map(folder => (
          <option key={folder} value={folder} />
        ))}
      </datalist>
      {error && (
        <div
          className="jp-mlops-error"
          role="alert"
          data-testid="mlops-field-error"
          data-field="project"
        >
          {error}
        </div>
      )}
      {chosen !== undefined && (
        <button
          type="button"
          className="jp-mlops-button"
          title="Find the project from the notebook's folder upward again"
          data-testid="mlops-deps-project-forget"
          onClick={() => props.onChoose(null)}
        >
          Find it from the notebook&apos;s folder
        </button>
      )}
    </form>
  );
}
