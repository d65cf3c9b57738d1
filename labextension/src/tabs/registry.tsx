/**
 * Registry: a placeholder until its engineer fills it in.
 * TODO(issue 6): Models with search and paging, a model's releases, create model and release
 * forms with inline errors from the server (APIError.field), promote/demote, aliases and the
 * audit history (GET models, releases, aliases, audit).
 */
import React from 'react';

import { ITabProps } from '../context';

/** The Registry tab. */
export function RegistryTab(_props: ITabProps): JSX.Element {
  return (
    <div className="jp-mlops-placeholder">
      <h3>Registry</h3>
      <p className="jp-mlops-muted">Not built yet.</p>
    </div>
  );
}
