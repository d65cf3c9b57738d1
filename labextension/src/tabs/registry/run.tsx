/** The MLflow run a release came from, read from the tracking server when its section opens:
 * its name (a link to its page), status and times, its metrics and params as small tables, or
 * the server's message when it cannot be read (no tracking server configured, not reachable,
 * no such run). */
import React, { useState } from 'react';

import { apiPath, asAPIError } from '../../api';
import { ErrorLine } from '../../components/errorline';
import { IMLOpsContext } from '../../context';
import { formatAgo, formatDuration } from '../../format';
import { byName, formatMetric, runIdOf, runSeconds, runTime } from '../../mlflow';
import type { MlflowRun } from '../../types';

/** What the section holds: the run read, or why it could not be. */
interface IRunState {
  loading: boolean;
  run?: MlflowRun;
  error?: string;
}

/** A release's run, as a collapsible section of its row (closed, and not read, at first). */
export function RunSection(props: {
  context: IMLOpsContext;
  releaseId: number;
  /** The release's `mlflow_run`: a run id or a `runs:/<id>/...` URI. */
  reference: string;
}): JSX.Element {
  const { context } = props;
  const [state, setState] = useState<IRunState>({ loading: false });
  const load = async () => {
    setState({ loading: true });
    try {
      const run = await context.request<MlflowRun>(apiPath('releases', props.releaseId, 'run'));
      setState({ loading: false, run });
    } catch (reason) {
      setState({ loading: false, error: asAPIError(reason).message });
    }
  };
  const { run } = state;
  return (
    <details
      className="jp-mlops-reg-run"
      data-testid="mlops-release-run"
      data-run={props.reference}
      onToggle={e => {
        if ((e.target as HTMLDetailsElement).open && !state.run && !state.loading) {
          void load();
        }
      }}
    >
      <summary title={props.reference}>Run {runIdOf(props.reference)}</summary>
      {state.loading && <div className="jp-mlops-muted">Reading the run…</div>}
      <ErrorLine message={state.error} testid="mlops-release-run-error" />
      {run && (
        <div className="jp-mlops-reg-run-body">
          <div className="jp-mlops-reg-head">
            <span className="jp-mlops-reg-wrap jp-mlops-grow">
              {run.url ? (
                <a href={run.url} target="_blank" rel="noopener noreferrer" title={run.url}>
                  {run.run_name || run.run_id}
                </a>
              ) : (
                run.run_name || run.run_id
              )}
            </span>
            {run.status && (
              <span className={`jp-mlops-state jp-mlops-state-${run.status.toLowerCase()}`}>
                {run.status.toLowerCase()}
              </span>
            )}
          </div>
          <div className="jp-mlops-muted">
            experiment {run.experiment_id}
            {run.start_time !== null && (
              <>
                {' · '}
                <span title={runTime(run.start_time)}>{formatAgo(runTime(run.start_time))}</span>
              </>
            )}
            {runSeconds(run) !== null && ` · ${formatDuration(runSeconds(run))}`}
          </div>
          <RunTable
            title="Metrics"
            testid="mlops-run-metrics"
            rows={byName(run.metrics).map(([name, value]) => [name, formatMetric(value)])}
          />
          <RunTable
            title="Params"
            testid="mlops-run-params"
            rows={byName(run.params).map(([name, value]) => [name, value ?? ''])}
          />
        </div>
      )}
      {(run || state.error) && (
        <button className="jp-mlops-button" disabled={state.loading} onClick={() => void load()}>
          Read again
        </button>
      )}
    </details>
  );
}

/** A small name/value table, or a line saying there is none. */
function RunTable(props: {
  title: string;
  testid: string;
  rows: Array<[string, string]>;
}): JSX.Element {
  if (!props.rows.length) {
    return <div className="jp-mlops-muted">No {props.title.toLowerCase()}.</div>;
  }
  return (
    <table className="jp-mlops-table" data-testid={props.testid}>
      <thead>
        <tr>
          <th>{props.title}</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {props.rows.map(([name, value]) => (
          <tr key={name} data-name={name}>
            <td>{name}</td>
            <td className="jp-mlops-reg-run-value" title={value}>
              {value}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
