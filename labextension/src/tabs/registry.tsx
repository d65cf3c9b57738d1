/**
 * Registry: the models (searched, paged) with a create form; a model's page holds its
 * releases (create, promote / demote / deprecate), its aliases and its audit history.
 * Form errors from the server show next to the input they name (APIError.field).
 */
import React, { useState } from 'react';

import { ITabAction, ITabProps } from '../context';
import { isStringOrNull, useAction, useSaved } from '../hooks';
import { ModelDetail } from './registry/detail';
import { ModelList } from './registry/models';

/** Palette actions of this tab (registered by `addCommands`). */
export const REGISTRY_ACTIONS: readonly ITabAction[] = [
  { id: 'mlops:create-model', label: 'Create an MLOps Model', action: 'registry:create-model' },
  { id: 'mlops:search-models', label: 'Search MLOps Models', action: 'registry:search' },
  {
    // with `{model}` that model's page opens first
    id: 'mlops:create-release',
    label: 'Create an MLOps Release',
    action: 'registry:create-release',
    args: args => (typeof args.model === 'string' ? args.model : undefined)
  }
];

/** The Registry tab. */
export function RegistryTab(props: ITabProps): JSX.Element {
  const { context, active } = props;
  const [selected, setSelected] = useSaved<string | null>(
    context,
    'registry.model',
    null,
    isStringOrNull
  );
  const [focus, setFocus] = useState<'create' | 'search' | 'release' | 'history' | null>(null);
  const [notice, setNotice] = useState<string>();

  const open = (name: string | null) => {
    setNotice(undefined);
    setSelected(name);
  };
  useAction(context, 'registry:create-model', () => {
    open(null);
    setFocus('create');
  });
  useAction(context, 'registry:create-release', model => {
    if (typeof model === 'string' && model) {
      open(model);
    } else if (!selected) {
      setNotice('Open a model first: its page has the new-release form.');
      setFocus('search');
      return;
    }
    setFocus('release');
  });
  useAction(context, 'registry:search', () => {
    open(null);
    setFocus('search');
  });
  useAction(context, 'registry:open-model', name => {
    if (typeof name === 'string' && name) {
      open(name);
    }
  });
  useAction(context, 'registry:show-history', name => {
    if (typeof name === 'string' && name) {
      open(name);
      setFocus('history');
    }
  });

  return (
    <div className="jp-mlops-reg">
      {notice && (
        <div className="jp-mlops-message" role="status" data-testid="mlops-registry-notice">
          {notice}
        </div>
      )}
      <div hidden={selected !== null}>
        <ModelList
          context={context}
          active={active && selected === null}
          onSelect={open}
          focus={focus === 'create' || focus === 'search' ? focus : null}
          onFocused={() => setFocus(null)}
        />
      </div>
      {selected !== null && (
        <ModelDetail
          key={selected}
          context={context}
          name={selected}
          active={active}
          onBack={() => open(null)}
          focus={focus === 'release' || focus === 'history' ? focus : null}
          onFocused={() => setFocus(null)}
        />
      )}
    </div>
  );
}
