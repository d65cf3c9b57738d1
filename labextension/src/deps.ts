/** Pure logic of the Dependencies tab: row order and wording, what a plan says, the project
 * folder chosen for a notebook. */
import { APIError } from './api';
import type { DepsPlan, DepsRow } from './types';

type RowState = DepsRow['state'];
type Change = DepsPlan['changes'][number];

/** Rows that need attention first, then the rest, each group by name. */
const ORDER: Record<RowState, number> = {
  missing: 0,
  outdated: 1,
  protected: 2,
  skipped: 3,
  ok: 4
};

/** The status rows in the order shown: problems first, then by name. */
export function sortRows(rows: readonly DepsRow[]): DepsRow[] {
  return [...rows].sort((a, b) => ORDER[a.state] - ORDER[b.state] || a.name.localeCompare(b.name));
}

/** What a row asks for: `>=2.0` or `any version`. */
export function wanted(row: DepsRow): string {
  return row.specifier || 'any version';
}

/** A planned change as `before → after` (`not installed` when absent). */
export function changeText(change: Change): string {
  return `${change.before ?? 'not installed'} → ${change.after}`;
}

/** Whether the plan can be carried out, and if not, why (for the confirmation dialog). */
export function planVerdict(plan: DepsPlan): { repairable: boolean; reason: string } {
  if (plan.resolver_error) {
    return { repairable: false, reason: plan.resolver_error };
  }
  if (!plan.ok) {
    return {
      repairable: false,
      reason: plan.problems.join('; ') || 'the plan cannot be carried out'
    };
  }
  if (!plan.changes.length) {
    return { repairable: false, reason: 'Nothing to install or change.' };
  }
  return { repairable: true, reason: '' };
}

/** A held-back entry (`{name, chosen, newest, why}`) as one line. */
export function heldBackText(entry: Readonly<Record<string, string>>): string {
  const { name, chosen, newest, why } = entry;
  const head = [name, chosen && `${chosen}`, newest && `(newest ${newest})`].filter(Boolean);
  return why ? `${head.join(' ')}: ${why}` : head.join(' ');
}

/** Whether the server found no declaration to check against (a 400 on `project` saying so):
 * the tab's empty state, which offers to choose the project folder, not an error. */
export function isNoDeclaration(error: APIError | undefined): boolean {
  return (
    !!error &&
    error.status === 400 &&
    error.field === 'project' &&
    error.message.startsWith('project: no pyproject.toml or requirements.txt found')
  );
}

/** A workspace path without `./`, repeated or trailing slashes (`./a//b/` -> `a/b`). */
export function cleanPath(path: string): string {
  const absolute = path.trim().startsWith('/');
  const parts = path
    .trim()
    .split('/')
    .filter(part => part && part !== '.');
  return `${absolute ? '/' : ''}${parts.join('/')}`;
}

/** The `project` to send for folder `folder` (a workspace path, or an absolute one) of the
 * notebook at workspace path `notebook`: the server takes a relative project from the
 * kernel's notebook folder, so a workspace path goes relative to that folder. */
export function projectParam(folder: string, notebook: string): string {
  const target = cleanPath(folder);
  if (target.startsWith('/')) {
    return target;
  }
  const from = cleanPath(notebook).split('/').slice(0, -1).filter(Boolean);
  const to = target.split('/').filter(Boolean);
  let same = 0;
  while (same < from.length && same < to.length && from[same] === to[same]) {
    same += 1;
  }
  const path = [...from.slice(same).map(() => '..'), ...to.slice(same)].join('/');
  return path || '.';
}
