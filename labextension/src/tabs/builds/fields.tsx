/** Form pieces of the Builds tab. */
import React from 'react';

import { FieldErrors } from '../../builds';

/** An inline error under the input of `field` (test id `mlops-field-error`). */
export function FieldError(props: { errors: FieldErrors; field: string }): JSX.Element | null {
  const message = props.errors[props.field];
  return message ? (
    <div className="jp-mlops-error" data-testid="mlops-field-error" data-field={props.field}>
      {message}
    </div>
  ) : null;
}
