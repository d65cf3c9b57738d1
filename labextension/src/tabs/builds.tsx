/**
 * Builds: a placeholder until its engineer fills it in.
 * TODO(issue 6): Start a build for a release (POST builds), its status and live log (LogView on
 * builds/{id}/log), cancel and push.
 */
import React from 'react';

import { ITabProps } from '../context';

/** The Builds tab. */
export function BuildsTab(_props: ITabProps): JSX.Element {
  return (
    <div className="jp-mlops-placeholder">
      <h3>Builds</h3>
      <p className="jp-mlops-muted">Not built yet.</p>
    </div>
  );
}
