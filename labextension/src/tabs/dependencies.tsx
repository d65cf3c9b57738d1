/**
 * Dependencies: a placeholder until its engineer fills it in.
 * TODO(issue 6): The status of the focused notebook's kernel (context.notebooks, GET
 * deps/status?kernel_id=...), a Fix button when something is missing or outdated, the plan to
 * confirm (POST deps/plan), the repair job's live log (POST deps/repair, LogView) and a restart-
 * kernel action.
 */
import React from 'react';

import { ITabProps } from '../context';

/** The Dependencies tab. */
export function DependenciesTab(_props: ITabProps): JSX.Element {
  return (
    <div className="jp-mlops-placeholder">
      <h3>Dependencies</h3>
      <p className="jp-mlops-muted">Not built yet.</p>
    </div>
  );
}
