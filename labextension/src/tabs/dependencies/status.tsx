/** What the Dependencies tab shows of a check: the interpreter, the project and the status table. */
import React from 'react';

import { sortRows, wanted } from '../../deps';
import type { DepsCheck, DepsStatus } from '../../types';

/** Which interpreter was checked, and against which project (chosen for the notebook, or
 * found from its folder), with a button that opens the project chooser. */
export function Interpreter(props: {
  check: DepsCheck;
  chosen: string | undefined;
  onChange(): void;
}): JSX.Element {
  const { kernel, environment, status } = props.check;
  const python = kernel?.python ?? environment.python;
  return (
    <div className="jp-mlops-deps-env">
      <div data-testid="mlops-deps-interpreter" className="jp-mlops-deps-path" title={python}>
        {kernel ? `${kernel.kernel_name}: ` : ''}
        {python}
        <span className="jp-mlops-muted"> (Python {environment.python_version})</span>
      </div>
      {kernel?.source === 'kernelspec' && (
        <div className="jp-mlops-warning">
          From the kernelspec, the kernel did not answer{kernel.detail ? `: ${kernel.detail}` : ''}
        </div>
      )}
      <div className="jp-mlops-deps-project-line">
        <span
          className="jp-mlops-muted jp-mlops-deps-path"
          title={status.project}
          data-testid="mlops-deps-project-used"
        >
          Project {status.project}
          {props.chosen === undefined ? ' (found from the notebook)' : ' (chosen)'}
        </span>
        <button
          className="jp-mlops-button"
          title="Choose the project folder of this notebook"
          data-testid="mlops-deps-project-change"
          onClick={props.onChange}
        >
          Change
        </button>
      </div>
      {(!environment.writable || environment.externally_managed) && (
        <div className="jp-mlops-warning">
          {environment.externally_managed
            ? 'This environment is externally managed: installing into it may be refused.'
            : 'This environment is not writable: installing into it will fail.'}
        </div>
      )}
    </div>
  );
}

/** The status table: one row a declared package, with the reason of anything not ok. */
export function StatusTable(props: { status: DepsStatus }): JSX.Element {
  const { status } = props;
  return (
    <>
      {status.rows.length ? (
        <table className="jp-mlops-table" data-testid="mlops-deps-status">
          <thead>
            <tr>
              <th>Package</th>
              <th>Installed</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {sortRows(status.rows).map(row => (
              <tr
                key={row.key}
                data-testid="mlops-deps-row"
                data-package={row.name}
                data-status={row.state}
              >
                <td>
                  <div className="jp-mlops-deps-name">{row.name}</div>
                  <div className="jp-mlops-muted">{wanted(row)}</div>
                  {row.state !== 'ok' && row.reason && (
                    <div className="jp-mlops-deps-reason">{row.reason}</div>
                  )}
                </td>
                <td className="jp-mlops-deps-version">{row.installed ?? '–'}</td>
                <td>
                  <span className={`jp-mlops-state jp-mlops-deps-${row.state}`}>{row.state}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <div className="jp-mlops-empty" data-testid="mlops-deps-status">
          The project declares no dependencies.
        </div>
      )}
      {status.broken.length > 0 && (
        <div className="jp-mlops-warning" data-testid="mlops-deps-broken">
          {status.broken.map(b => (
            <div key={`${b.name} ${b.requirement}`}>{b.message}</div>
          ))}
        </div>
      )}
      {status.unsupported.length > 0 && (
        <div className="jp-mlops-muted">
          Not checked: {status.unsupported.map(u => `${u.text} (${u.reason})`).join('; ')}
        </div>
      )}
    </>
  );
}
