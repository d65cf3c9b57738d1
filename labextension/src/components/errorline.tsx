/** A failure's message where it happened (a list, a row, a form); nothing without one. */
import React from 'react';

export function ErrorLine(props: { message?: string | null; testid?: string }): JSX.Element | null {
  return props.message ? (
    <div className="jp-mlops-error" role="alert" data-testid={props.testid}>
      {props.message}
    </div>
  ) : null;
}
