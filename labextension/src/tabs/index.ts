/** The sidebar's tabs, in the order they are shown. Each lives in its own file. */
import type { ComponentType } from 'react';

import { ITabAction, ITabProps } from '../context';
import { BUILDS_ACTIONS, BuildsTab } from './builds';
import { DEPENDENCIES_ACTIONS, DependenciesTab } from './dependencies';
import { JOBS_ACTIONS, JobsTab } from './jobs';
import { MODELS_ACTIONS, ModelsTab } from './models';
import { REGISTRY_ACTIONS, RegistryTab } from './registry';

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
  { id: 'registry', label: 'Registry', component: RegistryTab, actions: REGISTRY_ACTIONS },
  {
    id: 'dependencies',
    label: 'Dependencies',
    component: DependenciesTab,
    actions: DEPENDENCIES_ACTIONS
  },
  { id: 'models', label: 'Models', component: ModelsTab, actions: MODELS_ACTIONS },
  { id: 'builds', label: 'Builds', component: BuildsTab, actions: BUILDS_ACTIONS },
  { id: 'jobs', label: 'Jobs', component: JobsTab, actions: JOBS_ACTIONS }
];

/** Whether `value` names a tab (for state read back from IStateDB). */
export function isTabId(value: unknown): value is TabId {
  return TABS.some(tab => tab.id === value);
}
