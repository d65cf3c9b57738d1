/** A collapsible section of a model's page that lists one kind of its records (deployments,
 * artifacts): read page by page while open, one row each, and a create form under them. */
import React, { useState } from 'react';

import { fetchUpTo, IPage } from '../../api';
import { ErrorLine } from '../../components/errorline';
import { IMLOpsContext } from '../../context';
import { usePolled } from '../../hooks';

/** How often an open section refreshes. */
export const RECORDS_INTERVAL = 10000;
/** Records shown at first; "Show more" adds as many again. */
export const RECORDS_PAGE = 20;

/** Props of `ModelRecords`. */
export interface IModelRecordsProps<T extends { id: number }> {
  context: IMLOpsContext;
  /** The model's name (the list's `model` filter). */
  name: string;
  active: boolean;
  /** The list endpoint: `deployments`, `artifacts`. */
  path: string;
  title: string;
  testid: string;
  /** What to say when there are none. */
  none: string;
  row(item: T): React.ReactNode;
  /** The create form, under the list. */
  children: React.ReactNode;
}

/** The section, open at first; its list is read only while it is open and shown. */
export function ModelRecords<T extends { id: number }>(props: IModelRecordsProps<T>): JSX.Element {
  const { context, name, path } = props;
  const [open, setOpen] = useState(true);
  const [shown, setShown] = useState(RECORDS_PAGE);
  const list = usePolled(
    context,
    () =>
      fetchUpTo(
        (limit, cursor) =>
          context.request<IPage<T>>(path, { query: { model: name, limit, cursor } }),
        shown
      ),
    {
      name: `registry-${path}`,
      interval: RECORDS_INTERVAL,
      active: props.active && open,
      deps: [shown]
    }
  );
  const items = list.data?.items ?? [];
  return (
    <details
      className="jp-mlops-reg-section"
      data-testid={props.testid}
      open={open}
      onToggle={e => setOpen((e.target as HTMLDetailsElement).open)}
    >
      <summary>{props.title}</summary>
      <ErrorLine message={list.error?.message} />
      {list.data && !items.length && <div className="jp-mlops-muted">{props.none}</div>}
      <ul className="jp-mlops-list">
        {items.map(item => (
          <React.Fragment key={item.id}>{props.row(item)}</React.Fragment>
        ))}
      </ul>
      {list.data?.next_cursor && (
        <button className="jp-mlops-button" onClick={() => setShown(shown + RECORDS_PAGE)}>
          Show more
        </button>
      )}
      {props.children}
    </details>
  );
}
