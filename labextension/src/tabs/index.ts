/** The sidebar's tabs, in the order they are shown. Each lives in its own file. */
import type { ComponentType } from 'react';

import { ITabAction, ITabProps } from '../context';
import { BuildsTab } from './builds';
import { DependenciesTab } from './dependencies';
import { JOBS_ACTIONS, JobsTab } from './jobs';
import { ModelsTab } from './models';
import { RegistryTab } from './registry';

/** A tab: its id (in test ids, command ids and the saved state), label,
 * component, and the palette actions it carries out. */
export interface ITab {
  id: TabId;
  label: string;
  component: ComponentType<ITabProps>;
  actions?: readonly ITabAction[];
}

export type TabId = 'registry' | 'dependencies' | 'models' | 'builds' | 'jobs';

export const TABS: readonly ITab[] = [
  { id: 'registry', label: 'Registry', component: RegistryTab },
  { id: 'dependencies', label: 'Dependencies', component: DependenciesTab },
  { id: 'models', label: 'Models', component: ModelsTab },
  { id: 'builds', label: 'Builds', component: BuildsTab },
  { id: 'jobs', label: 'Jobs', component: JobsTab, actions: JOBS_ACTIONS }
];

/** Whether `value` names a tab (for state read back from IStateDB). */
export function isTabId(value: unknown): value is TabId {
  return TABS.some(tab => tab.id === value);
}
