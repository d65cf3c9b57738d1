/**
 * Dependencies: the status of the focused notebook's kernel environment against its
 * project, a Fix button when something is missing or outdated, the plan to confirm,
 * the repair job's live log and a restart-kernel action when it is done.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import React, { useEffect, useRef, useState } from 'react';

import { apiPath, asAPIError } from '../api';
import { confirm } from '../dialogs';
import { LogView } from '../components/logview';
import { ProgressBar } from '../components/progress';
import { ITabAction, ITabProps } from '../context';
import { changeText, heldBackText, planVerdict, sortRows, wanted } from '../deps';
import { finished } from '../jobs';
import { useAction, usePolled, useSaved } from '../hooks';
import type { DepsCheck, DepsPlan, DepsPlanAnswer, DepsStatus, Job } from '../types';

/** A check records a run on the server, so it re-runs on focus, kernel change and
 * demand, and otherwise rarely. */
export const CHECK_INTERVAL = 120_000;
/** How often the repair job is asked for its state while it runs. */
export const REPAIR_INTERVAL = 2000;

/** Palette actions of this tab. */
export const DEPENDENCIES_ACTIONS: readonly ITabAction[] = [
  {
    id: 'mlops:check-dependencies',
    label: "Check the Focused Notebook's Dependencies",
    action: 'deps:check'
  },
  {
    id: 'mlops:fix-dependencies',
    label: "Fix the Focused Notebook's Dependencies",
    action: 'deps:fix'
  },
  {
    id: 'mlops:restart-kernel',
    label: "Restart the Focused Notebook's Kernel (after a fix)",
    action: 'deps:restart'
  }
];

/** The notebook in focus and its kernel, following focus, session and kernel changes. */
function useFocusedNotebook(tracker: INotebookTracker | null): {
  notebook: NotebookPanel | null;
  kernelId: string | null;
} {
  const [notebook, setNotebook] = useState<NotebookPanel | null>(tracker?.currentWidget ?? null);
  const [, setVersion] = useState(0);
  useEffect(() => {
    if (!tracker) {
      return;
    }
    const follow = (_: unknown, panel: NotebookPanel | null) => setNotebook(panel);
    tracker.currentChanged.connect(follow);
    setNotebook(tracker.currentWidget);
    return () => {
      tracker.currentChanged.disconnect(follow);
    };
  }, [tracker]);
  useEffect(() => {
    if (!notebook) {
      return;
    }
    const bump = () => setVersion(v => v + 1);
    const session = notebook.sessionContext;
    session.kernelChanged.connect(bump);
    session.sessionChanged.connect(bump);
    notebook.context.pathChanged.connect(bump);
    return () => {
      session.kernelChanged.disconnect(bump);
      session.sessionChanged.disconnect(bump);
      notebook.context.pathChanged.disconnect(bump);
    };
  }, [notebook]);
  const live = notebook && !notebook.isDisposed ? notebook : null;
  return { notebook: live, kernelId: live?.sessionContext.session?.kernel?.id ?? null };
}

/** A repair job started from this tab, for the kernel it fixes. */
type IRepair = {
  job: number;
  kernelId: string;
  /** Set once the job has ended (its state is then no longer asked for). */
  ended: boolean;
};

function isRepairOrNull(value: unknown): value is IRepair | null {
  if (value === null) {
    return true;
  }
  const repair = value as Partial<IRepair> | undefined;
  return (
    typeof repair === 'object' &&
    Number.isInteger(repair.job) &&
    typeof repair.kernelId === 'string' &&
    typeof repair.ended === 'boolean'
  );
}

/** The Dependencies tab. */
export function DependenciesTab(props: ITabProps): JSX.Element {
  const { context, active } = props;
  const { notebook, kernelId } = useFocusedNotebook(context.notebooks);
  // Answers by kernel id: a late answer for another kernel never shows as this one's.
  const [checks, setChecks] = useState<Record<string, DepsCheck>>({});
  // kept across reloads: the log of a running repair shows again after one
  const [repair, setRepair] = useSaved<IRepair | null>(
    context,
    'deps.repair',
    null,
    isRepairOrNull
  );
  const [planning, setPlanning] = useState(false);
  const [failure, setFailure] = useState<string>();

  const status = usePolled(
    context,
    async () => {
      if (!kernelId) {
        return null;
      }
      const check = await context.request<DepsCheck>('deps/status', {
        query: { kernel_id: kernelId }
      });
      setChecks(current => ({ ...current, [kernelId]: check }));
      return check;
    },
    { name: 'deps', interval: CHECK_INTERVAL, active: active && !!kernelId, deps: [kernelId] }
  );
  const check = kernelId ? checks[kernelId] : undefined;

  const seenJob = useRef<number | null>(null);
  const job = usePolled(
    context,
    async () => {
      const found = await context.request<Job>(apiPath('jobs', repair!.job));
      seenJob.current = found.id;
      if (finished(found)) {
        setRepair(r => (r && r.job === found.id ? { ...r, ended: true } : r));
      }
      return found;
    },
    {
      name: 'deps repair',
      interval: REPAIR_INTERVAL,
      // an ended repair restored after a reload is read once, for its outcome
      active: active && !!repair && (!repair.ended || seenJob.current !== repair.job),
      deps: [repair?.job]
    }
  );
  const repairJob = repair && job.data?.id === repair.job ? job.data : undefined;
  useEffect(() => {
    if (repair?.ended) {
      status.refresh(); // the environment changed: check it again
    }
  }, [repair?.ended]);

  const kernelRef = useRef(kernelId);
  kernelRef.current = kernelId;

  /** Plan, confirm in a dialog, then start the repair job. */
  const fix = async () => {
    const kernel = kernelRef.current;
    setFailure(undefined);
    if (!kernel) {
      setFailure('Open a notebook with a running kernel first.');
      return;
    }
    setPlanning(true);
    let answer: DepsPlanAnswer;
    try {
      answer = await context.request<DepsPlanAnswer>('deps/plan', {
        method: 'POST',
        json: { kernel_id: kernel }
      });
    } catch (reason) {
      setFailure(asAPIError(reason).message);
      return;
    } finally {
      setPlanning(false);
    }
    setChecks(current => ({ ...current, [kernel]: answer }));
    const verdict = planVerdict(answer.plan);
    const result = await showDialog({
      title: verdict.repairable ? 'Fix dependencies?' : 'Nothing to repair',
      body: <PlanBody answer={answer} reason={verdict.reason} />,
      buttons: verdict.repairable
        ? [Dialog.cancelButton(), Dialog.okButton({ label: 'Install' })]
        : [Dialog.okButton({ label: 'Close' })]
    });
    if (!verdict.repairable || !result.button.accept) {
      return;
    }
    try {
      const started = await context.request<Job>('deps/repair', {
        method: 'POST',
        json: { kernel_id: kernel }
      });
      setRepair({ job: started.id, kernelId: kernel, ended: false });
    } catch (reason) {
      setFailure(asAPIError(reason).message);
    }
  };

  const restart = async () => {
    setFailure(undefined);
    if (!notebook || !kernelId) {
      setFailure('Open a notebook with a running kernel first.');
      return;
    }
    const name = notebook.sessionContext.name || notebook.context.path;
    if (
      !(await confirm(
        'Restart kernel',
        `Restart the kernel of ${name}? Its variables are lost.`,
        'Restart'
      ))
    ) {
      return;
    }
    try {
      await notebook.sessionContext.restartKernel();
      setRepair(current => (current?.kernelId === kernelId ? null : current));
      status.refresh();
    } catch (reason) {
      setFailure(`The kernel did not restart: ${asAPIError(reason).message}`);
    }
  };

  useAction(context, 'deps:check', () => status.refresh());
  useAction(context, 'deps:fix', () => void fix());
  useAction(context, 'deps:restart', () => void restart());

  if (!notebook) {
    return (
      <div className="jp-mlops-deps">
        <div className="jp-mlops-empty" data-testid="mlops-deps-hint">
          Open a notebook (or bring one to the front): this tab checks its kernel's environment
          against the notebook's project.
        </div>
      </div>
    );
  }
  const shownRepair = repair && repair.kernelId === kernelId ? repair : null;
  return (
    <div className="jp-mlops-deps">
      <div className="jp-mlops-toolbar">
        <span className="jp-mlops-deps-notebook" title={notebook.context.path}>
          {notebook.context.path}
        </span>
        <button
          className="jp-mlops-button"
          data-testid="mlops-deps-check"
          title="Check the environment again"
          disabled={!kernelId}
          onClick={() => status.refresh()}
        >
          Check
        </button>
      </div>
      {!kernelId && (
        <div className="jp-mlops-empty" data-testid="mlops-deps-hint">
          This notebook has no running kernel: start one to check its environment.
        </div>
      )}
      {status.error && (
        <div className="jp-mlops-error" role="alert">
          {status.error.message}
        </div>
      )}
      {kernelId && !check && !status.error && <div className="jp-mlops-muted">Checking…</div>}
      {check && <Interpreter check={check} />}
      {check && <StatusTable status={check.status} />}
      {check?.status.needs_fix && (!shownRepair || shownRepair.ended) && (
        <button
          className="jp-mlops-button jp-mlops-deps-action"
          data-testid="mlops-deps-fix"
          disabled={planning}
          onClick={() => void fix()}
        >
          {planning ? 'Planning…' : 'Fix dependencies'}
        </button>
      )}
      {failure && (
        <div className="jp-mlops-error" role="alert">
          {failure}
        </div>
      )}
      {shownRepair && (
        <RepairView
          {...props}
          jobId={shownRepair.job}
          job={repairJob}
          error={job.error?.message}
          onRestart={() => void restart()}
          onDismiss={() => setRepair(null)}
        />
      )}
    </div>
  );
}

/** Which interpreter was checked, and against which project. */
function Interpreter(props: { check: DepsCheck }): JSX.Element {
  const { kernel, environment, status } = props.check;
  const python = kernel?.python ?? environment.python;
  return (
    <div className="jp-mlops-deps-env">
      <div data-testid="mlops-deps-interpreter" className="jp-mlops-deps-path" title={python}>
        {kernel ? `${kernel.kernel_name}: ` : ''}
        {python}
        <span className="jp-mlops-muted"> (Python {environment.python_version})</span>
      </div>
      {kernel?.source === 'kernelspec' && (
        <div className="jp-mlops-warning">
          From the kernelspec, the kernel did not answer{kernel.detail ? `: ${kernel.detail}` : ''}
        </div>
      )}
      <div className="jp-mlops-muted jp-mlops-deps-path" title={status.project}>
        Project {status.project}
      </div>
      {(!environment.writable || environment.externally_managed) && (
        <div className="jp-mlops-warning">
          {environment.externally_managed
            ? 'This environment is externally managed: installing into it may be refused.'
            : 'This environment is not writable: installing into it will fail.'}
        </div>
      )}
    </div>
  );
}

/** The status table: one row a declared package, with the reason of anything not ok. */
function StatusTable(props: { status: DepsStatus }): JSX.Element {
  const { status } = props;
  return (
    <>
      {status.rows.length ? (
        <table className="jp-mlops-deps-table" data-testid="mlops-deps-status">
          <thead>
            <tr>
              <th>Package</th>
              <th>Installed</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {sortRows(status.rows).map(row => (
              <tr
                key={row.key}
                data-testid="mlops-deps-row"
                data-package={row.name}
                data-status={row.state}
              >
                <td>
                  <div className="jp-mlops-deps-name">{row.name}</div>
                  <div className="jp-mlops-muted">{wanted(row)}</div>
                  {row.state !== 'ok' && row.reason && (
                    <div className="jp-mlops-deps-reason">{row.reason}</div>
                  )}
                </td>
                <td className="jp-mlops-deps-version">{row.installed ?? '–'}</td>
                <td>
                  <span className={`jp-mlops-state jp-mlops-deps-${row.state}`}>{row.state}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <div className="jp-mlops-empty" data-testid="mlops-deps-status">
          The project declares no dependencies.
        </div>
      )}
      {status.broken.length > 0 && (
        <div className="jp-mlops-warning" data-testid="mlops-deps-broken">
          {status.broken.map(b => (
            <div key={`${b.name} ${b.requirement}`}>{b.message}</div>
          ))}
        </div>
      )}
      {status.unsupported.length > 0 && (
        <div className="jp-mlops-muted">
          Not checked: {status.unsupported.map(u => `${u.text} (${u.reason})`).join('; ')}
        </div>
      )}
    </>
  );
}

/** The confirmation dialog's body: the plan's changes, what is held back and why not. */
function PlanBody(props: { answer: DepsPlanAnswer; reason: string }): JSX.Element {
  const plan: DepsPlan = props.answer.plan;
  return (
    <div className="jp-mlops-deps-plan" data-testid="mlops-deps-plan">
      <div className="jp-mlops-muted">
        Into {props.answer.kernel?.python ?? props.answer.environment.python} with {plan.installer}
      </div>
      {plan.changes.length > 0 && (
        <table className="jp-mlops-deps-table">
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

interface IRepairViewProps extends ITabProps {
  jobId: number;
  job: Job | undefined;
  error: string | undefined;
  onRestart(): void;
  onDismiss(): void;
}

/** The repair job: state, progress, live log, and the restart when it succeeded. */
function RepairView(props: IRepairViewProps): JSX.Element {
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
