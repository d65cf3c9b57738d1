/** A model's releases: one row each with its lifecycle buttons, and the create-release form. */
import React, { useRef, useState } from 'react';

import { REFRESH } from '../../actions';
import { apiPath } from '../../api';
import { ErrorLine } from '../../components/errorline';
import { IMLOpsContext } from '../../context';
import { confirm } from '../../dialogs';
import { formatAgo } from '../../format';
import { useFocusRequest, useRowRequest } from '../../hooks';
import {
  allowedTransitions,
  IReleaseForm,
  quantizationStored,
  releaseBody,
  releaseLabel,
  roleRefusal,
  Transition,
  transitionQuestion
} from '../../registry';
import { QUANTIZATION_EXAMPLES, type Release } from '../../types';
import { FieldError, FormSection, TextField, useFormState } from './fields';
import { RunSection } from './run';

const ACTION_LABELS: Record<Transition, string> = {
  promote: 'Promote',
  demote: 'Demote',
  deprecate: 'Deprecate'
};

/** A release: version, status, aliases, notes, the MLflow run it came from, and the
 * transitions its status allows. */
export function ReleaseRow(props: {
  context: IMLOpsContext;
  release: Release;
  aliases: string[];
}): JSX.Element {
  const { context, release } = props;
  const { busy, error, send } = useRowRequest(context);

  const run = async (action: Transition) => {
    const question = transitionQuestion(release, action);
    if (question && !(await confirm(question.title, question.body, question.accept))) {
      return;
    }
    await send(apiPath('releases', release.id, action), () => context.actions.emit(REFRESH));
  };

  return (
    <li
      className="jp-mlops-reg-row"
      data-testid="mlops-release-row"
      data-release-id={release.id}
      data-version={release.version}
      data-status={release.status}
    >
      <div className="jp-mlops-reg-head">
        <span
          className="jp-mlops-reg-name"
          title={`${releaseLabel(release)} · release #${release.id}`}
        >
          {releaseLabel(release)}
        </span>
        <span className={`jp-mlops-state jp-mlops-state-${release.status}`}>{release.status}</span>
        {props.aliases.map(alias => (
          <span key={alias} className="jp-mlops-reg-tag" title={`alias ${alias}`}>
            @{alias}
          </span>
        ))}
      </div>
      {release.release_notes && <div className="jp-mlops-message">{release.release_notes}</div>}
      {release.mlflow_run && (
        <RunSection context={context} releaseId={release.id} reference={release.mlflow_run} />
      )}
      <div className="jp-mlops-reg-head">
        <span className="jp-mlops-muted">
          #{release.id} · <span title={release.created_at}>{formatAgo(release.created_at)}</span>
          {release.auto_build && ' · auto build'}
        </span>
        <span className="jp-mlops-grow" />
        {allowedTransitions(release.status).map(action => (
          <button
            key={action}
            className={
              action === 'deprecate' ? 'jp-mlops-button jp-mlops-danger' : 'jp-mlops-button'
            }
            disabled={busy || roleRefusal(context.caller, action) !== undefined}
            title={roleRefusal(context.caller, action)}
            data-testid={`mlops-release-${action}`}
            onClick={() => void run(action)}
          >
            {ACTION_LABELS[action]}
          </button>
        ))}
      </div>
      <ErrorLine message={error} />
    </li>
  );
}

const EMPTY_RELEASE: IReleaseForm = {
  version: '',
  quantization: '',
  notes: '',
  autoBuild: false,
  mlflowRun: ''
};
const RELEASE_FIELDS = [
  'version',
  'quantization',
  'release_notes',
  'mlflow_run',
  'auto_build'
] as const;
const QUANTIZATION_LIST = 'jp-mlops-reg-quantizations';

/** Props of `CreateReleaseForm`. */
export interface ICreateReleaseFormProps {
  context: IMLOpsContext;
  /** The model's name. */
  name: string;
  active: boolean;
  /** A palette action asked for the form: open it and focus the version. */
  focus: boolean;
  onFocused(): void;
}

/** New release of the model: version, quantization, notes, auto build. */
export function CreateReleaseForm(props: ICreateReleaseFormProps): JSX.Element {
  const { context, name } = props;
  const [open, setOpen] = useState(true);
  const [values, setValues] = useState<IReleaseForm>(EMPTY_RELEASE);
  // the release made by the last submit, and how the server spelled its quantization
  const [created, setCreated] = useState<{ release: Release; stored: string | null }>();
  const form = useFormState(RELEASE_FIELDS);
  const version = useRef<HTMLInputElement>(null);
  useFocusRequest(version, props.focus, props.active, props.onFocused, () => setOpen(true));

  const set = (key: keyof IReleaseForm) => (value: string | boolean) => {
    setCreated(undefined);
    setValues({ ...values, [key]: value });
  };
  const submit = () => {
    void form.submit(async () => {
      const release = await context.request<Release>('releases', {
        method: 'POST',
        json: releaseBody(name, values)
      });
      setValues(EMPTY_RELEASE);
      setCreated({
        release,
        stored: quantizationStored(values.quantization, release.quantization)
      });
      context.actions.emit(REFRESH);
    });
  };
  const build = created?.release.build;

  return (
    <FormSection
      title="New release"
      open={open}
      onOpen={setOpen}
      onSubmit={submit}
      form={form}
      submitLabel="Create release"
      submitTestid="mlops-release-create"
      notice={
        created && (
          <span className="jp-mlops-message" data-testid="mlops-release-created">
            Created {releaseLabel(created.release)}
            {created.stored && (
              <span data-testid="mlops-release-quantization-stored"> · {created.stored}</span>
            )}
            {build && ` · build #${build.id} queued`}
            {!!build?.job_id && (
              <>
                {' '}
                <a
                  href="#"
                  onClick={e => {
                    e.preventDefault();
                    void context.app.commands.execute('mlops:show-job', { id: build.job_id });
                  }}
                >
                  show job
                </a>
              </>
            )}
          </span>
        )
      }
    >
      <TextField
        label="Version"
        field="version"
        testid="mlops-release-version"
        placeholder="1.0.0"
        value={values.version}
        onChange={set('version')}
        form={form}
        inputRef={version}
      />
      <TextField
        label="Quantization"
        field="quantization"
        testid="mlops-release-quantization"
        placeholder="none"
        hint="free text, e.g. fp16, Q4_K_M, exl2-4.0bpw, mlx-4bit; the server normalises it"
        list={QUANTIZATION_LIST}
        value={values.quantization}
        onChange={set('quantization')}
        form={form}
      />
      <datalist id={QUANTIZATION_LIST}>
        {QUANTIZATION_EXAMPLES.map(q => (
          <option key={q} value={q} />
        ))}
      </datalist>
      <TextField
        label="Notes"
        field="release_notes"
        testid="mlops-release-notes"
        placeholder="optional"
        multiline
        value={values.notes}
        onChange={set('notes')}
        form={form}
      />
      <TextField
        label="MLflow run"
        field="mlflow_run"
        testid="mlops-release-mlflow-run"
        placeholder="optional"
        hint="optional: the MLflow run it came from, a run id or runs:/<run id>/<path>"
        value={values.mlflowRun}
        onChange={set('mlflowRun')}
        form={form}
      />
      <label className="jp-mlops-reg-check">
        <input
          type="checkbox"
          data-testid="mlops-release-auto-build"
          checked={values.autoBuild}
          onChange={e => {
            form.clear('auto_build');
            set('autoBuild')(e.target.checked);
          }}
        />{' '}
        Build its image when created
      </label>
      <FieldError form={form} field="auto_build" />
    </FormSection>
  );
}
