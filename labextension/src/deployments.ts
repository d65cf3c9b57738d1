/** Pure logic of a model's deployments: the create form's body, labels and questions. */
import { IQuestion, releaseLabel } from './registry';
import type { Deployment, PostDeploymentsBody, Release } from './types';

export type DeploymentStatus = Deployment['status'];

/** The statuses a deployment can have, in the order the select offers them. */
export const DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = [
  'pending',
  'active',
  'failed',
  'retired'
];

/** Environments offered as suggestions (any name of letters, digits, `.`, `_`, `-` goes). */
export const COMMON_ENVIRONMENTS = ['production', 'staging', 'development'];

/** What the create-deployment form holds (strings as typed). */
export interface IDeploymentForm {
  /** The release id as the select's value, '' when none is chosen. */
  releaseId: string;
  environment: string;
  endpoint: string;
  status: DeploymentStatus;
  notes: string;
}

export const EMPTY_DEPLOYMENT: IDeploymentForm = {
  releaseId: '',
  environment: '',
  endpoint: '',
  status: 'pending',
  notes: ''
};

/** The POST deployments body: text trimmed, empty optional fields left out. */
export function deploymentBody(form: IDeploymentForm): PostDeploymentsBody {
  const body: PostDeploymentsBody = {
    release_id: Number(form.releaseId),
    environment: form.environment.trim(),
    status: form.status
  };
  if (form.endpoint.trim()) {
    body.endpoint = form.endpoint.trim();
  }
  if (form.notes.trim()) {
    body.notes = form.notes.trim();
  }
  return body;
}

/** A deployment as people name it: `llama 1.0 (int4) → production`, `release #3 → staging`
 * while its release is not known here. */
export function deploymentLabel(deployment: Deployment, release: Release | undefined): string {
  const what = release
    ? `${release.model} ${releaseLabel(release)}`
    : `release #${deployment.release_id}`;
  return `${what} → ${deployment.environment}`;
}

/** What to ask before deleting a deployment. */
export function deploymentDeleteQuestion(label: string): IQuestion {
  return {
    title: 'Delete deployment',
    body: `Delete the deployment ${label}? Its record and status are gone for good.`,
    accept: 'Delete'
  };
}
