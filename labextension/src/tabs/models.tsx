/**
 * Models: a placeholder until its engineer fills it in.
 * TODO(issue 6): Download form (repo, revision, include/exclude; POST hub/downloads), progress
 * bars with bytes, rate and ETA (ProgressBar), cancel, the local models with sizes (GET
 * hub/models) and delete with confirmation showing the server's refusal reason.
 */
import React from 'react';

import { ITabProps } from '../context';

/** The Models tab. */
export function ModelsTab(_props: ITabProps): JSX.Element {
  return (
    <div className="jp-mlops-placeholder">
      <h3>Models</h3>
      <p className="jp-mlops-muted">Not built yet.</p>
    </div>
  );
}
