/** A repair of the Dependencies tab: the plan to confirm, then the job with its live log. */
import React from 'react';

import { apiPath } from '../../api';
import { LogView } from '../../components/logview';
import { ProgressBar } from '../../components/progress';
import { ITabProps } from '../../context';
import { changeText, heldBackText } from '../../deps';
import { finished } from '../../jobs';
import type { DepsPlan, DepsPlanAnswer, Job } from '../../types';

/** The confirmation dialog's body: the plan's changes, what is held back and why not. */
export function PlanBody(props: { answer: DepsPlanAnswer; reason: string }): JSX.Element {
  const plan: DepsPlan = props.answer.plan;
  return (
    <div className="jp-mlops-deps-plan" data-testid="mlops-deps-plan">
      <div className="jp-mlops-muted">
        Into {props.answer.kernel?.python ?? props.answer.environment.python} with {plan.installer}
      </div>
      {plan.changes.length > 0 && (
        <table className="jp-mlops-table">
          <tbody>
            {plan.changes.map(change => (
              <tr key={change.name} data-testid="mlops-deps-change" data-package={change.name}>
                <td>{change.name}</td>
                <td>{changeText(change)}</td>
                <td className="jp-mlops-muted">{change.kind}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {plan.held_back.map(entry => (
        <div key={entry.name} className="jp-mlops-warning">
          Held back: {heldBackText(entry)}
        </div>
      ))}
      {props.reason && (
        <div className={plan.ok ? 'jp-mlops-message' : 'jp-mlops-error'}>{props.reason}</div>
      )}
    </div>
  );
}

export interface IRepairViewProps extends ITabProps {
  jobId: number;
  job: Job | undefined;
  error: string | undefined;
  onRestart(): void;
  onDismiss(): void;
}

/** The repair job: state, progress, live log, and the restart when it succeeded. */
export function RepairView(props: IRepairViewProps): JSX.Element {
  const { context, active, jobId, job } = props;
  const state = job?.state ?? (props.error ? 'unknown' : 'queued');
  return (
    <div className="jp-mlops-deps-repair" data-testid="mlops-deps-repair" data-state={state}>
      <div className="jp-mlops-toolbar">
        <span>Repair #{jobId}</span>
        <span className={`jp-mlops-state jp-mlops-state-${state}`}>{state}</span>
        <span className="jp-mlops-grow" />
        {((job && finished(job)) || props.error) && (
          <button className="jp-mlops-button" title="Hide the repair" onClick={props.onDismiss}>
            Dismiss
          </button>
        )}
      </div>
      {job && !finished(job) && (
        <ProgressBar progress={job.progress} running={job.state === 'running'} />
      )}
      {job && (job.error || job.message) && (
        <div className={job.error ? 'jp-mlops-error' : 'jp-mlops-message'}>
          {job.error || job.message}
        </div>
      )}
      {props.error && <div className="jp-mlops-error">{props.error}</div>}
      <LogView context={context} path={apiPath('jobs', jobId, 'log')} active={active} />
      {state === 'succeeded' && (
        <button
          className="jp-mlops-button jp-mlops-deps-action"
          data-testid="mlops-deps-restart"
          title="Restart the kernel so it imports what was installed"
          onClick={props.onRestart}
        >
          Restart kernel
        </button>
      )}
    </div>
  );
}
