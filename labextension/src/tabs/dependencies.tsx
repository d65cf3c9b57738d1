/**
 * Dependencies: the status of the focused notebook's kernel environment against its
 * project, a Fix button when something is missing or outdated, the plan to confirm,
 * the repair job's live log and a restart-kernel action when it is done. With no project
 * found, an empty state says what it looks for and offers to choose the project folder
 * (remembered per notebook).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import React, { useEffect, useRef, useState } from 'react';

import { APIError, apiPath, asAPIError } from '../api';
import { ErrorLine } from '../components/errorline';
import { confirm } from '../dialogs';
import { ITabAction, ITabProps } from '../context';
import { cleanPath, isNoDeclaration, planVerdict, projectParam } from '../deps';
import { finished } from '../jobs';
import { isStringRecord, useAction, usePolled, useSaved } from '../hooks';
import { formErrors } from '../registry';
import type { DepsCheck, DepsPlanAnswer, Job } from '../types';
import { useFocusedNotebook } from './dependencies/notebook';
import { ProjectChooser } from './dependencies/project';
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

/** The last answer of a check: the check, or why there is none. */
interface ICheckAnswer {
  check?: DepsCheck;
  error?: APIError;
}

/** The project message of a refusal, without the `project: ` the server puts first. */
function projectMessage(error: APIError): string {
  const placed = formErrors(error, ['project']);
  return placed.fields.project ?? placed.general ?? error.message;
}

/** The Dependencies tab. */
export function DependenciesTab(props: ITabProps): JSX.Element {
  const { context, active } = props;
  const { notebook, kernelId } = useFocusedNotebook(context.notebooks);
  // the project folder chosen per notebook (by its path), kept across reloads
  const [projects, setProjects] = useSaved<Record<string, string>>(
    context,
    'deps.projects',
    {},
    isStringRecord
  );
  const notebookPath = notebook?.context.path;
  const chosen = notebookPath === undefined ? undefined : projects[notebookPath];
  const project = chosen === undefined ? undefined : projectParam(chosen, notebookPath!);
  // Answers by kernel and project: a late answer for another never shows as this one's.
  const [answers, setAnswers] = useState<Record<string, ICheckAnswer>>({});
  const answerKey = `${kernelId}\n${project ?? ''}`;
  const [choosing, setChoosing] = useState(false);
  const [trying, setTrying] = useState<{ busy: boolean; error?: string }>({ busy: false });
  useEffect(() => {
    // another notebook: its own project, no chooser open, no refusal of the last one's
    setChoosing(false);
    setTrying({ busy: false });
  }, [notebookPath]);
  // a folder just chosen, until its check settles it (kept, or the previous one put back)
  const [tentative, setTentative] = useState<{
    notebook: string;
    previous: string | undefined;
    key: string;
  } | null>(null);
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
      const key = answerKey;
      try {
        const check = await context.request<DepsCheck>('deps/status', {
          query: { kernel_id: kernelId, project }
        });
        setAnswers(current => ({ ...current, [key]: { check } }));
        return check;
      } catch (reason) {
        setAnswers(current => ({ ...current, [key]: { error: asAPIError(reason) } }));
        throw reason;
      }
    },
    {
      name: 'deps',
      interval: CHECK_INTERVAL,
      active: active && !!kernelId,
      deps: [kernelId, project]
    }
  );
  const answer = kernelId ? answers[answerKey] : undefined;
  const check = answer?.check;
  const noDeclaration = isNoDeclaration(answer?.error);
  // the chosen folder is refused now (moved, deleted): the chooser says why
  const refused = !noDeclaration && answer?.error?.field === 'project' ? answer.error : undefined;
  const failed = noDeclaration || refused ? undefined : answer?.error;

  /** Keep `folder` for this notebook (null forgets it: the project is found from the
   * notebook's folder again). The check that follows settles it: a refusal of the folder
   * puts the previous choice back and shows the server's message under the field. */
  const choose = (folder: string | null) => {
    if (notebookPath === undefined) {
      return;
    }
    const next = { ...projects };
    if (folder === null) {
      delete next[notebookPath];
      setTrying({ busy: false });
      setChoosing(false);
    } else if (cleanPath(folder) === chosen) {
      status.refresh();
      setChoosing(false);
      return;
    } else {
      const key = `${kernelId}\n${projectParam(folder, notebookPath)}`;
      next[notebookPath] = cleanPath(folder);
      setAnswers(current => {
        const fresh = { ...current };
        delete fresh[key]; // settled by the check to come, not by an earlier one
        return fresh;
      });
      setTentative({ notebook: notebookPath, previous: chosen, key });
      setTrying({ busy: true });
    }
    setProjects(next);
  };
  useEffect(() => {
    const settled = tentative && answers[tentative.key];
    if (!tentative || !settled) {
      return;
    }
    setTentative(null);
    if (settled.error?.field === 'project') {
      setProjects(current => {
        const back = { ...current };
        if (tentative.previous === undefined) {
          delete back[tentative.notebook];
        } else {
          back[tentative.notebook] = tentative.previous;
        }
        return back;
      });
      setTrying({ busy: false, error: projectMessage(settled.error) });
    } else {
      setTrying({ busy: false });
      setChoosing(false);
    }
  }, [answers, tentative]);

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

  // what a palette action acts on: the kernel and project in focus when it runs
  const targetRef = useRef({ kernel: kernelId, project, key: answerKey });
  targetRef.current = { kernel: kernelId, project, key: answerKey };

  /** Plan, confirm in a dialog, then start the repair job. */
  const fix = async () => {
    const { kernel, project, key } = targetRef.current;
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
        json: { kernel_id: kernel, project }
      });
    } catch (reason) {
      setFailure(asAPIError(reason).message);
      return;
    } finally {
      setPlanning(false);
    }
    setAnswers(current => ({ ...current, [key]: { check: answer } }));
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
        json: { kernel_id: kernel, project }
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
      <ErrorLine message={failed?.message} />
      {kernelId && !answer && <div className="jp-mlops-muted">Checking…</div>}
      {noDeclaration && (
        <div className="jp-mlops-deps-empty" data-testid="mlops-deps-empty">
          <div>
            No project found for this notebook. This tab compares the kernel&apos;s packages with
            what the project declares: a <code>pyproject.toml</code> with <code>[project]</code>{' '}
            dependencies, or a <code>requirements.txt</code>, in the notebook&apos;s folder or one
            above it up to the workspace root.
          </div>
          <div>Choose the folder that holds them:</div>
        </div>
      )}
      {kernelId && (noDeclaration || refused || choosing || tentative) && (
        <ProjectChooser
          key={notebookPath}
          context={context}
          chosen={chosen}
          busy={trying.busy}
          error={trying.error ?? (refused && projectMessage(refused))}
          onChoose={choose}
        />
      )}
      {check && (
        <Interpreter
          check={check}
          chosen={chosen}
          onChange={() => {
            setTrying({ busy: false });
            setChoosing(!choosing);
          }}
        />
      )}
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
      <ErrorLine message={failure} />
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
