/**
 * Builds: start a Docker image build of a release, follow the builds (state,
 * image, size, duration, context), the live log of the one clicked, cancel,
 * and push a finished image to a registry.
 */
import React, { useState } from 'react';

import { ErrorLine } from '../components/errorline';
import { ITabAction, ITabProps } from '../context';
import { isIdOrNull, useAction, usePolled, useSaved } from '../hooks';
import { isActive } from '../jobs';
import type { Build, BuildPage } from '../types';
import { BuildRow, BUSY_INTERVAL, IDLE_INTERVAL, SelectedBuild } from './builds/row';
import { StartForm } from './builds/start';

/** Builds shown at first; "Show more" adds as many again. */
export const PAGE = 25;

/** Palette actions of this tab (registered by `addCommands`). */
export const BUILDS_ACTIONS: readonly ITabAction[] = [
  {
    // optional args {release_id}: preselect that release in the form
    id: 'mlops:start-build',
    label: 'Start an MLOps Image Build',
    action: 'builds:start',
    args: args => (args.release_id === undefined ? undefined : Number(args.release_id))
  }
];

/** The Builds tab. */
export function BuildsTab(props: ITabProps): JSX.Element {
  const { context, active } = props;
  const [limit, setLimit] = useState(PAGE);
  const [selected, setSelected] = useSaved<number | null>(
    context,
    'builds.build',
    null,
    isIdOrNull
  );
  const [busy, setBusy] = useState(true);

  const builds = usePolled(
    context,
    async () => {
      const page = await context.request<BuildPage>('builds', { query: { limit } });
      setBusy(page.items.some(build => isActive(build.state)));
      return page;
    },
    { name: 'builds', interval: busy ? BUSY_INTERVAL : IDLE_INTERVAL, active, deps: [limit] }
  );
  // a build the palette asked to push: selected with its push form open
  const [pushFirst, setPushFirst] = useState<number | null>(null);
  useAction(context, 'builds:show', id => {
    if (typeof id === 'number' && Number.isInteger(id) && id > 0) {
      setSelected(id);
    }
  });
  useAction(context, 'builds:push', id => {
    if (typeof id === 'number' && Number.isInteger(id) && id > 0) {
      setSelected(id);
      setPushFirst(id);
    }
  });

  const items = builds.data?.items ?? [];
  const toggle = (id: number) => setSelected(selected === id ? null : id);
  const row = (id: number, build?: Build) =>
    id === selected ? (
      <SelectedBuild
        key={id}
        id={id}
        listed={build}
        openPush={pushFirst === id}
        onPushOpened={() => setPushFirst(null)}
        onClose={() => setSelected(null)}
        onChanged={() => builds.refresh()}
        {...props}
      />
    ) : (
      <BuildRow key={id} build={build!} open={false} onToggle={() => toggle(id)} {...props} />
    );
  return (
    <div className="jp-mlops-builds">
      <StartForm context={context} active={active} onStarted={() => builds.refresh()} />
      <div className="jp-mlops-toolbar">
        <span className="jp-mlops-title">Builds</span>
        <button className="jp-mlops-button" title="Refresh now" onClick={() => builds.refresh()}>
          Refresh
        </button>
      </div>
      <ErrorLine message={builds.error?.message} />
      {builds.data && !items.length && selected === null && (
        <div className="jp-mlops-empty">No builds yet.</div>
      )}
      <ul className="jp-mlops-list">
        {/* a build shown from the palette that is not on the loaded page goes first */}
        {selected !== null && builds.data && !items.some(b => b.id === selected) && row(selected)}
        {items.map(build => row(build.id, build))}
      </ul>
      {builds.data?.next_cursor && (
        <button className="jp-mlops-button" onClick={() => setLimit(limit + PAGE)}>
          Show more
        </button>
      )}
    </div>
  );
}
