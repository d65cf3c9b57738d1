/** Form pieces of the Registry tab: labelled inputs with the server's inline errors. */
import React, { useState } from 'react';

import { asAPIError } from '../../api';
import { formErrors, IFormErrors } from '../../registry';

/** A form's submit state: busy while sending, the last failure placed by field. */
export interface IFormState {
  busy: boolean;
  errors: IFormErrors;
  /** Run `send`; a failure is shown next to the input it names (or above the form). */
  submit(send: () => Promise<void>): Promise<void>;
  /** Forget the error of `field` (the user is editing it). */
  clear(field: string): void;
}

/** The submit state of a form whose inputs are named `fields` (the API's field names). */
export function useFormState(fields: readonly string[]): IFormState {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<IFormErrors>({ fields: {} });
  return {
    busy,
    errors,
    submit: async send => {
      setBusy(true);
      setErrors({ fields: {} });
      try {
        await send();
      } catch (reason) {
        setErrors(formErrors(asAPIError(reason), fields));
      } finally {
        setBusy(false);
      }
    },
    clear: field => {
      if (errors.fields[field]) {
        const rest = { ...errors.fields };
        delete rest[field];
        setErrors({ ...errors, fields: rest });
      }
    }
  };
}

/** What every field takes. */
export interface IFieldProps {
  label: string;
  /** The API's name of the field (matched against `APIError.field`). */
  field: string;
  testid: string;
  value: string;
  onChange(value: string): void;
  form: IFormState;
  /** The input's tooltip (default: the placeholder or the option chosen, which a narrow
   * sidebar may cut). */
  hint?: string;
}

/** Props of `TextField`. */
export interface ITextFieldProps extends IFieldProps {
  placeholder?: string;
  /** id of a `<datalist>` of suggestions. */
  list?: string;
  multiline?: boolean;
  /** `number` for a count (the browser keeps other text out); default `text`. */
  type?: 'text' | 'number';
  inputRef?: React.Ref<HTMLInputElement>;
}

/** The attributes an input or select of `props` shares: its value, test id, invalid mark, and
 * an edit that forgets the field's error. */
function inputAttributes(props: IFieldProps) {
  const { field, form } = props;
  return {
    className: 'jp-mlops-input',
    'data-testid': props.testid,
    value: props.value,
    'aria-invalid': !!form.errors.fields[field],
    onChange: (
      e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>
    ) => {
      form.clear(field);
      props.onChange(e.target.value);
    }
  };
}

/** A field's frame: its label beside the input, the server's message for it under them. */
function Labelled(props: IFieldProps & { children: React.ReactNode }): JSX.Element {
  return (
    <div className="jp-mlops-reg-field">
      <label>
        <span className="jp-mlops-reg-label">{props.label}</span>
        {props.children}
      </label>
      <FieldError form={props.form} field={props.field} />
    </div>
  );
}

/** A labelled input; the server's message for its field shows under it. */
export function TextField(props: ITextFieldProps): JSX.Element {
  const common = {
    ...inputAttributes(props),
    placeholder: props.placeholder,
    title: props.hint ?? props.placeholder
  };
  return (
    <Labelled {...props}>
      {props.multiline ? (
        <textarea rows={2} {...common} />
      ) : (
        <input
          type={props.type ?? 'text'}
          min={props.type === 'number' ? 0 : undefined}
          list={props.list}
          ref={props.inputRef}
          {...common}
        />
      )}
    </Labelled>
  );
}

/** Props of `SelectField`. */
export interface ISelectFieldProps extends IFieldProps {
  /** The choices: the value sent and the text shown (e.g. a release id and its label). */
  options: ReadonlyArray<{ value: string; label: string }>;
}

/** A labelled select; the server's message for its field shows under it. */
export function SelectField(props: ISelectFieldProps): JSX.Element {
  const shown = props.options.find(option => option.value === props.value)?.label;
  return (
    <Labelled {...props}>
      <select {...inputAttributes(props)} title={props.hint ?? shown}>
        {props.options.map(option => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </Labelled>
  );
}

/** The server's message for `field`, if the last submit failed on it. */
export function FieldError(props: { form: IFormState; field: string }): JSX.Element | null {
  const message = props.form.errors.fields[props.field];
  return message ? (
    <div
      className="jp-mlops-error"
      role="alert"
      data-testid="mlops-field-error"
      data-field={props.field}
    >
      {message}
    </div>
  ) : null;
}

/** A failure that names no input of the form. */
export function FormError(props: { form: IFormState }): JSX.Element | null {
  const message = props.form.errors.general;
  return message ? (
    <div className="jp-mlops-error" role="alert" data-testid="mlops-form-error">
      {message}
    </div>
  ) : null;
}

/** Props of `FormSection`. */
export interface IFormSectionProps {
  title: string;
  open: boolean;
  onOpen(open: boolean): void;
  onSubmit(): void;
  form: IFormState;
  /** Shown beside the submit button (e.g. what was created). */
  notice?: React.ReactNode;
  submitLabel: string;
  submitTestid: string;
  children: React.ReactNode;
}

/** A collapsible create form: its inputs, a failure naming none of them, and a toolbar with
 * the notice and the submit button (disabled while sending). */
export function FormSection(props: IFormSectionProps): JSX.Element {
  return (
    <details
      className="jp-mlops-reg-section"
      open={props.open}
      onToggle={e => props.onOpen((e.target as HTMLDetailsElement).open)}
    >
      <summary>{props.title}</summary>
      <form
        className="jp-mlops-reg-form"
        onSubmit={e => {
          e.preventDefault();
          props.onSubmit();
        }}
      >
        {props.children}
        <FormError form={props.form} />
        <div className="jp-mlops-toolbar">
          {props.notice || <span />}
          <button
            type="submit"
            className="jp-mlops-button"
            disabled={props.form.busy}
            data-testid={props.submitTestid}
          >
            {props.submitLabel}
          </button>
        </div>
      </form>
    </details>
  );
}

/** A row's Delete button (the row asks before it deletes). */
export function DeleteButton(props: {
  /** What it deletes, as a tooltip: `Delete the alias prod`. */
  title: string;
  testid: string;
  busy: boolean;
  onClick(): void;
}): JSX.Element {
  return (
    <button
      className="jp-mlops-button jp-mlops-danger"
      title={props.title}
      data-testid={props.testid}
      disabled={props.busy}
      onClick={props.onClick}
    >
      Delete
    </button>
  );
}
