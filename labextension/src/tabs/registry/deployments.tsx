/** A model's deployments: one row each (environment, release, endpoint, a status select,
 * notes, a confirmed delete) and the form that deploys one of its releases. */
import React, { useEffect, useState } from 'react';

import { REFRESH } from '../../actions';
import { apiPath } from '../../api';
import { ErrorLine } from '../../components/errorline';
import { IMLOpsContext } from '../../context';
import {
  COMMON_ENVIRONMENTS,
  DEPLOYMENT_STATUSES,
  deploymentBody,
  deploymentDeleteQuestion,
  deploymentLabel,
  DeploymentStatus,
  EMPTY_DEPLOYMENT,
  IDeploymentForm
} from '../../deployments';
import { confirm } from '../../dialogs';
import { formatAgo } from '../../format';
import { useRowRequest } from '../../hooks';
import { releaseLabel } from '../../registry';
import type { Deployment, Release } from '../../types';
import {
  DeleteButton,
  FieldError,
  FormError,
  FormSection,
  SelectField,
  TextField,
  useFormState
} from './fields';
import { ModelRecords } from './records';

/** Props of `Deployments`. */
export interface IDeploymentsProps {
  context: IMLOpsContext;
  /** The model's name. */
  name: string;
  active: boolean;
  /** Every release of the model (for labels and the form's release select). */
  releases: Release[];
}

/** The collapsible deployments section of a model's page. */
export function Deployments(props: IDeploymentsProps): JSX.Element {
  const { context } = props;
  const releases = new Map(props.releases.map(release => [release.id, release]));
  return (
    <ModelRecords<Deployment>
      context={context}
      name={props.name}
      active={props.active}
      path="deployments"
      title="Deployments"
      testid="mlops-model-deployments"
      none="No deployments yet."
      row={deployment => (
        <DeploymentRow
          context={context}
          deployment={deployment}
          release={releases.get(deployment.release_id)}
          onChanged={() => context.actions.emit(REFRESH)}
        />
      )}
    >
      <CreateDeploymentForm context={context} releases={props.releases} />
    </ModelRecords>
  );
}

/** Whether an endpoint is a web address (shown as a link). */
function isWebAddress(endpoint: string): boolean {
  return /^https?:\/\//i.test(endpoint);
}

/** One deployment: what is deployed where, its endpoint and notes, its status (a select that
 * changes it) and a confirmed delete. */
function DeploymentRow(props: {
  context: IMLOpsContext;
  deployment: Deployment;
  release: Release | undefined;
  onChanged(): void;
}): JSX.Element {
  const { context, deployment, release } = props;
  const form = useFormState(['status']);
  const deletion = useRowRequest(context);
  // the status just chosen, shown until the list has it (or the change failed)
  const [chosen, setChosen] = useState<DeploymentStatus | null>(null);
  useEffect(() => {
    if (chosen === deployment.status) {
      setChosen(null);
    }
  }, [deployment.status]);
  const label = deploymentLabel(deployment, release);
  const path = apiPath('deployments', deployment.id);

  const change = (status: DeploymentStatus) => {
    setChosen(status);
    void form.submit(async () => {
      try {
        await context.request(path, { method: 'PATCH', json: { status } });
      } catch (reason) {
        setChosen(null);
        throw reason;
      }
      props.onChanged();
    });
  };
  const remove = async () => {
    const question = deploymentDeleteQuestion(label);
    if (await confirm(question.title, question.body, question.accept)) {
      await deletion.send(path, props.onChanged, 'DELETE');
    }
  };

  const { endpoint, notes } = deployment;
  return (
    <li
      className="jp-mlops-reg-row"
      data-testid="mlops-deployment-row"
      data-deployment-id={deployment.id}
      data-release-id={deployment.release_id}
      data-environment={deployment.environment}
      data-status={deployment.status}
    >
      <div className="jp-mlops-reg-wrap" title={label}>
        {release ? releaseLabel(release) : `release #${deployment.release_id}`} →{' '}
        <b>{deployment.environment}</b>
      </div>
      {endpoint && (
        <div className="jp-mlops-muted jp-mlops-reg-ellipsis" title={endpoint}>
          {isWebAddress(endpoint) ? (
            <a href={endpoint} target="_blank" rel="noopener noreferrer">
              {endpoint}
            </a>
          ) : (
            endpoint
          )}
        </div>
      )}
      {notes && <div className="jp-mlops-message">{notes}</div>}
      <div className="jp-mlops-reg-head">
        <span className="jp-mlops-muted jp-mlops-grow">
          #{deployment.id} ·{' '}
          <span title={deployment.updated_at}>{formatAgo(deployment.updated_at)}</span>
        </span>
        <select
          className={`jp-mlops-state jp-mlops-state-${chosen ?? deployment.status}`}
          aria-label={`Status of ${label}`}
          data-testid="mlops-deployment-status"
          value={chosen ?? deployment.status}
          disabled={form.busy}
          onChange={e => change(e.target.value as DeploymentStatus)}
        >
          {DEPLOYMENT_STATUSES.map(status => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
        <DeleteButton
          title={`Delete the deployment ${label}`}
          testid="mlops-deployment-delete"
          busy={deletion.busy}
          onClick={() => void remove()}
        />
      </div>
      <FieldError form={form} field="status" />
      <FormError form={form} />
      <ErrorLine message={deletion.error} />
    </li>
  );
}

const DEPLOYMENT_FIELDS = ['release_id', 'environment', 'endpoint', 'status', 'notes'] as const;
const ENVIRONMENT_LIST = 'jp-mlops-reg-environments';

/** Deploy a release of the model: release, environment, endpoint, status, notes. */
function CreateDeploymentForm(props: { context: IMLOpsContext; releases: Release[] }): JSX.Element {
  const { context } = props;
  const [open, setOpen] = useState(false);
  const [values, setValues] = useState<IDeploymentForm>(EMPTY_DEPLOYMENT);
  const [created, setCreated] = useState<string>();
  const form = useFormState(DEPLOYMENT_FIELDS);
  // a deprecated release cannot be deployed: it is not offered
  const deployable = props.releases.filter(release => release.status !== 'deprecated');
  const releaseId = values.releaseId || String(deployable[0]?.id ?? '');

  const set = (key: keyof IDeploymentForm) => (value: string) => {
    setCreated(undefined);
    setValues({ ...values, [key]: value });
  };
  const submit = () => {
    void form.submit(async () => {
      const deployment = await context.request<Deployment>('deployments', {
        method: 'POST',
        json: deploymentBody({ ...values, releaseId })
      });
      const release = props.releases.find(r => r.id === deployment.release_id);
      setValues({ ...EMPTY_DEPLOYMENT, releaseId });
      setCreated(`${deploymentLabel(deployment, release)} (${deployment.status})`);
      context.actions.emit(REFRESH);
    });
  };

  if (!deployable.length) {
    return <div className="jp-mlops-muted">No release to deploy: create one above.</div>;
  }
  return (
    <FormSection
      title="New deployment"
      open={open}
      onOpen={setOpen}
      onSubmit={submit}
      form={form}
      submitLabel="Deploy"
      submitTestid="mlops-deployment-create"
      notice={
        created && (
          <span className="jp-mlops-message" data-testid="mlops-deployment-created">
            Deployed {created}
          </span>
        )
      }
    >
      <SelectField
        label="Release"
        field="release_id"
        testid="mlops-deployment-release"
        value={releaseId}
        onChange={set('releaseId')}
        form={form}
        options={deployable.map(release => ({
          value: String(release.id),
          label: `${releaseLabel(release)} · ${release.status}`
        }))}
      />
      <TextField
        label="Environment"
        field="environment"
        testid="mlops-deployment-environment"
        placeholder="production"
        list={ENVIRONMENT_LIST}
        value={values.environment}
        onChange={set('environment')}
        form={form}
      />
      <datalist id={ENVIRONMENT_LIST}>
        {COMMON_ENVIRONMENTS.map(environment => (
          <option key={environment} value={environment} />
        ))}
      </datalist>
      <TextField
        label="Endpoint"
        field="endpoint"
        testid="mlops-deployment-endpoint"
        placeholder="optional"
        hint="optional: the URL or host:port that serves it"
        value={values.endpoint}
        onChange={set('endpoint')}
        form={form}
      />
      <SelectField
        label="Status"
        field="status"
        testid="mlops-deployment-new-status"
        value={values.status}
        onChange={set('status')}
        form={form}
        options={DEPLOYMENT_STATUSES.map(status => ({ value: status, label: status }))}
      />
      <TextField
        label="Notes"
        field="notes"
        testid="mlops-deployment-notes"
        placeholder="optional"
        multiline
        value={values.notes}
        onChange={set('notes')}
        form={form}
      />
    </FormSection>
  );
}
