/** Pure logic of the Dependencies tab: row order and wording, what a plan says. */
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
