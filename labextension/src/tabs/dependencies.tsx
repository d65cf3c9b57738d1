/**
 * Dependencies: the status of the focused notebook's kernel environment against its
 * project, a Fix button when something is missing or outdated, the plan to confirm,
 * the repair job's live log and a restart-kernel action when it is done.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import React, { useEffect, useRef, useState } from 'react';

import { apiPath, asAPIError } from '../api';
import { confirm } from '../dialogs';
import { ITabAction, ITabProps } from '../context';
import { planVerdict } from '../deps';
import { finished } from '../jobs';
import { useAction, usePolled, useSaved } from '../hooks';
import type { DepsCheck, DepsPlanAnswer, Job } from '../types';
import { useFocusedNotebook } from './dependencies/notebook';
import { PlanBody, RepairView } from './dependencies/repair';
import { Interpreter, StatusTable } from './dependencies/status';

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
