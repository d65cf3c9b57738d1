/** A model's storage on its page: its size as the last scan found it, a Scan button that
 * records its files as artifacts, and the form that publishes it to s3:// (each a job whose
 * progress shows here until it ends). */
import React, { useState } from 'react';

import { REFRESH } from '../../actions';
import { apiPath, asAPIError } from '../../api';
import { ErrorLine } from '../../components/errorline';
import { ProgressBar } from '../../components/progress';
import { IMLOpsContext } from '../../context';
import { usePolled } from '../../hooks';
import {
  EMPTY_PUBLISH,
  IPublishForm,
  isActive,
  publishBody,
  storageOutcome,
  storedText
} from '../../storage';
import type { Job, Model } from '../../types';
import { FormSection, TextField, useFormState } from './fields';

/** How often a started scan or publish is read while it runs. */
export const STORAGE_JOB_INTERVAL = 1000;

/** The storage section of a model's page. */
export function Storage(props: {
  context: IMLOpsContext;
  model: Model;
  active: boolean;
}): JSX.Element {
  const { context, model } = props;
  const [jobId, setJobId] = useState<number | null>(null);
  const [scanning, setScanning] = useState(false);
  const [scanError, setScanError] = useState<string>();
  const job = usePolled(
    context,
    async () => {
      const now = await context.request<Job>(apiPath('jobs', jobId ?? 0));
      if (!isActive(now)) {
        context.actions.emit(REFRESH); // the model's size and artifacts changed
      }
      return now;
    },
    {
      name: 'storage-job',
      interval: STORAGE_JOB_INTERVAL,
      active: props.active && jobId !== null,
      deps: [jobId]
    }
  );
  const current = job.data && job.data.id === jobId ? job.data : undefined;
  const running = !!current && isActive(current);
  const startScan = async () => {
    setScanning(true);
    setScanError(undefined);
    try {
      const started = await context.request<Job>('storage/scans', {
        method: 'POST',
        json: { model: model.name }
      });
      setJobId(started.id);
    } catch (reason) {
      setScanError(asAPIError(reason).message);
    } finally {
      setScanning(false);
    }
  };
  const stored = storedText(model.stored);

  return (
    <div className="jp-mlops-reg-section" data-testid="mlops-model-storage">
      <div className="jp-mlops-reg-head">
        <span className="jp-mlops-muted jp-mlops-grow" data-testid="mlops-model-stored">
          {stored ? `Stored: ${stored}` : 'Files not scanned yet'}
        </span>
        <button
          className="jp-mlops-button"
          title={`List the files at ${model.storage_path} and record each as an artifact with its size and sha256`}
          data-testid="mlops-storage-scan"
          disabled={scanning || running}
          onClick={() => void startScan()}
        >
          Scan files
        </button>
      </div>
      <ErrorLine message={scanError} />
      {current && (
        <div data-testid="mlops-storage-job" data-state={current.state}>
          {running ? (
            <>
              <div className="jp-mlops-muted">
                {current.message || `${current.kind} ${current.state}`}
              </div>
              <ProgressBar progress={current.progress} running={current.state === 'running'} />
            </>
          ) : (
            <div className={current.state === 'succeeded' ? 'jp-mlops-message' : 'jp-mlops-error'}>
              {storageOutcome(current)}
            </div>
          )}
        </div>
      )}
      <PublishForm context={context} model={model} onStarted={setJobId} />
    </div>
  );
}

const PUBLISH_FIELDS = ['destination', 'source', 'model'] as const;

/** Publish the model's files (or another folder) to s3:// and point the model there. */
function PublishForm(props: {
  context: IMLOpsContext;
  model: Model;
  onStarted(id: number): void;
}): JSX.Element {
  const { context, model } = props;
  const [open, setOpen] = useState(false);
  const [values, setValues] = useState<IPublishForm>(EMPTY_PUBLISH);
  const form = useFormState(PUBLISH_FIELDS);
  const set = (key: keyof IPublishForm) => (value: string) =>
    setValues({ ...values, [key]: value });
  const submit = () => {
    void form.submit(async () => {
      const job = await context.request<Job>('storage/publishes', {
        method: 'POST',
        json: publishBody(model.name, values)
      });
      props.onStarted(job.id);
    });
  };
  return (
    <FormSection
      title="Publish to S3"
      open={open}
      onOpen={setOpen}
      onSubmit={submit}
      form={form}
      submitLabel="Publish"
      submitTestid="mlops-storage-publish"
    >
      <TextField
        label="To"
        field="destination"
        testid="mlops-storage-destination"
        placeholder="s3://bucket/models/name"
        value={values.destination}
        onChange={set('destination')}
        form={form}
      />
      <TextField
        label="From"
        field="source"
        testid="mlops-storage-source"
        placeholder={model.storage_path}
        hint="a folder in the workspace or hf://org/name@revision (default: the model's storage path)"
        value={values.source}
        onChange={set('source')}
        form={form}
      />
    </FormSection>
  );
}
