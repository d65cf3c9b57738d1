/** The sidebar's tabs, in the order they are shown. Each lives in its own file. */
import {
  buildIcon,
  downloadIcon,
  extensionIcon,
  LabIcon,
  listIcon,
  runningIcon
} from '@jupyterlab/ui-components';
import type { ComponentType } from 'react';

import { ITabAction, ITabProps } from '../context';
import type { ITargetCommand } from '../targets';
import { BUILDS_ACTIONS, BuildsTab } from './builds';
import { BUILDS_TARGETS } from './builds/targets';
import { DEPENDENCIES_ACTIONS, DependenciesTab } from './dependencies';
import { JOBS_ACTIONS, JOBS_TARGETS, JobsTab } from './jobs';
import { MODELS_ACTIONS, ModelsTab } from './models';
import { MODELS_TARGETS } from './models/targets';
import { REGISTRY_ACTIONS, RegistryTab } from './registry';
import { ARTIFACT_TARGETS } from './registry/artifact-targets';
import { DEPLOYMENT_TARGETS } from './registry/deployment-targets';
import { REGISTRY_TARGETS } from './registry/targets';

/** A tab: its id (in test ids, command ids and the saved state), label (in the palette),
 * what the tab strip shows (icon, short label, tooltip), component, the palette actions it
 * carries out and its commands on one thing. */
export interface ITab {
  id: TabId;
  label: string;
  /** The strip's label: short enough that every tab fits one row of the default width. */
  short: string;
  /** The strip's tooltip: the full name and what the tab is for. */
  caption: string;
  icon: LabIcon;
  component: ComponentType<ITabProps>;
  actions?: readonly ITabAction[];
  targets?: readonly ITargetCommand<any>[];
}

export type TabId = 'registry' | 'dependencies' | 'models' | 'builds' | 'jobs';

export const TABS: readonly ITab[] = [
  {
    id: 'registry',
    label: 'Registry',
    short: 'Registry',
    caption: 'Registry: models, releases, aliases, deployments and artifacts',
    icon: listIcon,
    component: RegistryTab,
    actions: REGISTRY_ACTIONS,
    targets: [...REGISTRY_TARGETS, ...DEPLOYMENT_TARGETS, ...ARTIFACT_TARGETS]
  },
  {
    id: 'dependencies',
    label: 'Dependencies',
    short: 'Deps',
    caption: "Dependencies: the focused notebook's kernel against its project",
    icon: extensionIcon,
    component: DependenciesTab,
    actions: DEPENDENCIES_ACTIONS
  },
  {
    id: 'models',
    label: 'Models',
    short: 'Models',
    caption: 'Models: downloads from the Hugging Face Hub and the local model cache',
    icon: downloadIcon,
    component: ModelsTab,
    actions: MODELS_ACTIONS,
    targets: MODELS_TARGETS
  },
  {
    id: 'builds',
    label: 'Builds',
    short: 'Builds',
    caption: 'Builds: Docker images of releases, their logs and pushes',
    icon: buildIcon,
    component: BuildsTab,
    actions: BUILDS_ACTIONS,
    targets: BUILDS_TARGETS
  },
  {
    id: 'jobs',
    label: 'Jobs',
    short: 'Jobs',
    caption: 'Jobs: everything running or recent, from any face',
    icon: runningIcon,
    component: JobsTab,
    actions: JOBS_ACTIONS,
    targets: JOBS_TARGETS
  }
];

/** Whether `value` names a tab (for state read back from IStateDB). */
export function isTabId(value: unknown): value is TabId {
  return TABS.some(tab => tab.id === value);
}
