/** A model's artifacts (its own and its releases'): one row each (name, kind, path, size,
 * sha256, a confirmed delete) and the form that records one. */
import React, { useState } from 'react';

import { REFRESH } from '../../actions';
import { apiPath } from '../../api';
import {
  ARTIFACT_KINDS,
  artifactBody,
  artifactDeleteQuestion,
  artifactOwner,
  EMPTY_ARTIFACT,
  IArtifactForm
} from '../../artifacts';
import { ErrorLine } from '../../components/errorline';
import { IMLOpsContext } from '../../context';
import { confirm } from '../../dialogs';
import { formatBytes } from '../../format';
import { useRowRequest } from '../../hooks';
import { releaseLabel } from '../../registry';
import type { Artifact, Release } from '../../types';
import { DeleteButton, FormSection, SelectField, TextField, useFormState } from './fields';
import { ModelRecords } from './records';

/** Props of `Artifacts`. */
export interface IArtifactsProps {
  context: IMLOpsContext;
  /** The model's name. */
  name: string;
  active: boolean;
  /** Every release of the model (for labels and the form's select). */
  releases: Release[];
}

/** The collapsible artifacts section of a model's page. */
export function Artifacts(props: IArtifactsProps): JSX.Element {
  const { context, name } = props;
  const releases = new Map(props.releases.map(release => [release.id, release]));
  return (
    <ModelRecords<Artifact>
      context={context}
      name={props.name}
      active={props.active}
      path="artifacts"
      title="Artifacts"
      testid="mlops-model-artifacts"
      none="No artifacts yet."
      row={artifact => (
        <ArtifactRow
          context={context}
          artifact={artifact}
          owner={artifactOwner(
            name,
            artifact.release_id === null ? undefined : releases.get(artifact.release_id)
          )}
          onChanged={() => context.actions.emit(REFRESH)}
        />
      )}
    >
      <CreateArtifactForm context={context} name={name} releases={props.releases} />
    </ModelRecords>
  );
}

/** One artifact: name, kind, what it belongs to, size, checksum and path; a confirmed delete. */
function ArtifactRow(props: {
  context: IMLOpsContext;
  artifact: Artifact;
  /** What it belongs to: the model, or one of its releases. */
  owner: string;
  onChanged(): void;
}): JSX.Element {
  const { context, artifact } = props;
  const deletion = useRowRequest(context);
  const remove = async () => {
    const question = artifactDeleteQuestion(artifact, props.owner);
    if (await confirm(question.title, question.body, question.accept)) {
      await deletion.send(apiPath('artifacts', artifact.id), props.onChanged, 'DELETE');
    }
  };
  const facts = [
    artifact.release_id === null ? 'the model' : props.owner,
    artifact.size !== null && formatBytes(artifact.size)
  ].filter(Boolean);

  return (
    <li
      className="jp-mlops-reg-row"
      data-testid="mlops-artifact-row"
      data-artifact-id={artifact.id}
      data-release-id={artifact.release_id ?? ''}
      data-name={artifact.name}
      data-kind={artifact.kind}
    >
      <div className="jp-mlops-reg-head">
        <b className="jp-mlops-reg-wrap jp-mlops-grow">{artifact.name}</b>
        <span className="jp-mlops-reg-tag">{artifact.kind}</span>
      </div>
      <div className="jp-mlops-muted jp-mlops-reg-ellipsis" title={artifact.path}>
        {artifact.path}
      </div>
      {artifact.sha256 && (
        <div className="jp-mlops-muted jp-mlops-reg-ellipsis" title={artifact.sha256}>
          sha256 {artifact.sha256}
        </div>
      )}
      <div className="jp-mlops-reg-head">
        <span className="jp-mlops-muted jp-mlops-grow">
          #{artifact.id} · {facts.join(' · ')}
        </span>
        <DeleteButton
          title={`Delete the artifact ${artifact.name}`}
          testid="mlops-artifact-delete"
          busy={deletion.busy}
          onClick={() => void remove()}
        />
      </div>
      <ErrorLine message={deletion.error} />
    </li>
  );
}

const ARTIFACT_FIELDS = ['model', 'release_id', 'name', 'path', 'kind', 'size', 'sha256'] as const;

/** Record an artifact of the model or of one of its releases. */
function CreateArtifactForm(props: {
  context: IMLOpsContext;
  name: string;
  releases: Release[];
}): JSX.Element {
  const { context, name } = props;
  const [open, setOpen] = useState(false);
  const [values, setValues] = useState<IArtifactForm>(EMPTY_ARTIFACT);
  const [created, setCreated] = useState<string>();
  const form = useFormState(ARTIFACT_FIELDS);

  const set = (key: keyof IArtifactForm) => (value: string) => {
    setCreated(undefined);
    setValues({ ...values, [key]: value });
  };
  const submit = () => {
    void form.submit(async () => {
      const artifact = await context.request<Artifact>('artifacts', {
        method: 'POST',
        json: artifactBody(name, values)
      });
      const release = props.releases.find(r => r.id === artifact.release_id);
      setValues({ ...EMPTY_ARTIFACT, releaseId: values.releaseId });
      setCreated(`${artifact.name} to ${artifactOwner(name, release)}`);
      context.actions.emit(REFRESH);
    });
  };
  // the server names `model` or `release_id`: both are this select
  const ownerError = form.errors.fields.model ? 'model' : 'release_id';

  return (
    <FormSection
      title="New artifact"
      open={open}
      onOpen={setOpen}
      onSubmit={submit}
      form={form}
      submitLabel="Add artifact"
      submitTestid="mlops-artifact-create"
      notice={
        created && (
          <span className="jp-mlops-message" data-testid="mlops-artifact-created">
            Added {created}
          </span>
        )
      }
    >
      <SelectField
        label="Of"
        field={ownerError}
        testid="mlops-artifact-owner"
        value={values.releaseId}
        onChange={set('releaseId')}
        form={form}
        options={[
          { value: '', label: 'the model itself' },
          ...props.releases.map(release => ({
            value: String(release.id),
            label: `release ${releaseLabel(release)}`
          }))
        ]}
      />
      <TextField
        label="Name"
        field="name"
        testid="mlops-artifact-name"
        placeholder="model.gguf"
        value={values.name}
        onChange={set('name')}
        form={form}
      />
      <TextField
        label="Path"
        field="path"
        testid="mlops-artifact-path"
        placeholder="s3://bucket/key"
        hint="s3://bucket/key, hf://org/name[@revision] or a file path"
        value={values.path}
        onChange={set('path')}
        form={form}
      />
      <SelectField
        label="Kind"
        field="kind"
        testid="mlops-artifact-kind"
        value={values.kind}
        onChange={set('kind')}
        form={form}
        options={ARTIFACT_KINDS.map(kind => ({ value: kind, label: kind }))}
      />
      <TextField
        label="Size"
        field="size"
        testid="mlops-artifact-size"
        placeholder="bytes, optional"
        type="number"
        value={values.size}
        onChange={set('size')}
        form={form}
      />
      <TextField
        label="SHA-256"
        field="sha256"
        testid="mlops-artifact-sha256"
        placeholder="optional"
        hint="optional: 64 lowercase hex digits"
        value={values.sha256}
        onChange={set('sha256')}
        form={form}
      />
    </FormSection>
  );
}
