/** The Registry tab's first page: the create-model form and the models, searched and paged. */
import React, { useEffect, useRef, useState } from 'react';

import { REFRESH } from '../../actions';
import { ErrorLine } from '../../components/errorline';
import { IMLOpsContext } from '../../context';
import { formatAgo } from '../../format';
import { isString, useFocusRequest, usePolled, useSaved } from '../../hooks';
import { fetchUpTo } from '../../api';
import { IModelForm, matchesSearch, modelBody } from '../../registry';
import { storedText } from '../../storage';
import type { Model, ModelPage } from '../../types';
import { FormSection, TextField, useFormState } from './fields';

/** How often the list refreshes while shown. */
export const MODELS_INTERVAL = 10000;
/** Models shown at first; "Show more" adds as many again. */
export const MODELS_PAGE = 50;
/** Typing pause before a search is sent. */
const SEARCH_DELAY = 300;

/** Props of `ModelList`. */
export interface IModelListProps {
  context: IMLOpsContext;
  /** Poll only while true (the tab is active and no model is open). */
  active: boolean;
  onSelect(name: string): void;
  /** A palette action asked for the create form / the search box. */
  focus: 'create' | 'search' | null;
  onFocused(): void;
}

/** The create-model form above the searchable, paged list of models. */
export function ModelList(props: IModelListProps): JSX.Element {
  const { context, active } = props;
  const [text, setText] = useSaved(context, 'registry.search', '', isString);
  const [q, setQ] = useState('');
  const [shown, setShown] = useState(MODELS_PAGE);
  const search = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const timer = setTimeout(() => {
      setQ(text.trim());
      setShown(MODELS_PAGE);
    }, SEARCH_DELAY);
    return () => clearTimeout(timer);
  }, [text]);
  useFocusRequest(search, props.focus === 'search', active, props.onFocused);

  const models = usePolled(
    context,
    () =>
      fetchUpTo(
        (limit, cursor) =>
          context.request<ModelPage>('models', { query: { q: q || undefined, limit, cursor } }),
        shown
      ),
    { name: 'registry-models', interval: MODELS_INTERVAL, active, deps: [q, shown] }
  );
  const items = (models.data?.items ?? []).filter(model => matchesSearch(model, text));

  return (
    <div className="jp-mlops-reg-models">
      <CreateModelForm {...props} />
      <div className="jp-mlops-toolbar">
        <input
          ref={search}
          type="search"
          className="jp-mlops-input"
          placeholder="Search models"
          aria-label="Search models by name or description"
          data-testid="mlops-model-search"
          value={text}
          onChange={e => setText(e.target.value)}
        />
      </div>
      <ErrorLine message={models.error?.message} />
      {models.data && !items.length && (
        <div className="jp-mlops-empty">
          {text.trim() ? `No model matches “${text.trim()}”.` : 'No models yet: create one above.'}
        </div>
      )}
      <ul className="jp-mlops-list">
        {items.map(model => (
          <li
            key={model.name}
            className="jp-mlops-reg-row jp-mlops-reg-clickable"
            data-testid="mlops-model-row"
            data-name={model.name}
            role="button"
            tabIndex={0}
            title={`Open ${model.name}: releases, aliases, history`}
            onClick={() => props.onSelect(model.name)}
            onKeyDown={e => (e.key === 'Enter' || e.key === ' ') && props.onSelect(model.name)}
          >
            <div className="jp-mlops-reg-head">
              <span className="jp-mlops-reg-name" title={model.name}>
                {model.name}
              </span>
              <span className="jp-mlops-grow" />
              <span className="jp-mlops-muted" title={model.updated_at}>
                {formatAgo(model.updated_at)}
              </span>
            </div>
            <div className="jp-mlops-muted jp-mlops-reg-ellipsis" title={storageText(model)}>
              {storageText(model)}
            </div>
            {!!model.tags.length && <Tags tags={model.tags} />}
          </li>
        ))}
      </ul>
      {models.data?.next_cursor && (
        <button className="jp-mlops-button" onClick={() => setShown(shown + MODELS_PAGE)}>
          Show more
        </button>
      )}
    </div>
  );
}

/** Where a model is stored (with its size once scanned), and what it was made from. */
function storageText(model: Model): string {
  const stored = storedText(model.stored);
  const where = stored ? `${model.storage_path} (${stored})` : model.storage_path;
  return model.base_model ? `${where} · from ${model.base_model}` : where;
}

/** A model's tags as small chips. */
export function Tags(props: { tags: string[] }): JSX.Element {
  return (
    <div className="jp-mlops-reg-tags">
      {props.tags.map(tag => (
        <span key={tag} className="jp-mlops-reg-tag">
          {tag}
        </span>
      ))}
    </div>
  );
}

const EMPTY_MODEL: IModelForm = { name: '', storagePath: '', baseModel: '', tags: '' };
const MODEL_FIELDS = ['name', 'storage_path', 'base_model', 'tags'] as const;

/** New model: name, storage path, base model, tags; the server's errors inline. */
function CreateModelForm(props: IModelListProps): JSX.Element {
  const { context } = props;
  const [open, setOpen] = useState(true);
  const [values, setValues] = useState<IModelForm>(EMPTY_MODEL);
  const [created, setCreated] = useState<string>();
  const form = useFormState(MODEL_FIELDS);
  const name = useRef<HTMLInputElement>(null);
  useFocusRequest(name, props.focus === 'create', props.active, props.onFocused, () =>
    setOpen(true)
  );

  const set = (key: keyof IModelForm) => (value: string) => {
    setCreated(undefined);
    setValues({ ...values, [key]: value });
  };
  const submit = () => {
    void form.submit(async () => {
      const model = await context.request<Model>('models', {
        method: 'POST',
        json: modelBody(values)
      });
      setValues(EMPTY_MODEL);
      setCreated(model.name);
      context.actions.emit(REFRESH);
    });
  };

  return (
    <FormSection
      title="New model"
      open={open}
      onOpen={setOpen}
      onSubmit={submit}
      form={form}
      submitLabel="Create model"
      submitTestid="mlops-model-create"
      notice={
        created && (
          <span className="jp-mlops-message" data-testid="mlops-model-created">
            Created{' '}
            <a
              href="#"
              onClick={e => {
                e.preventDefault();
                props.onSelect(created);
              }}
            >
              {created}
            </a>
          </span>
        )
      }
    >
      <TextField
        label="Name"
        field="name"
        testid="mlops-model-name"
        placeholder="llama-3-8b"
        value={values.name}
        onChange={set('name')}
        form={form}
        inputRef={name}
      />
      <TextField
        label="Storage path"
        field="storage_path"
        testid="mlops-model-storage-path"
        placeholder="hf://org/name"
        hint="hf://org/name[@revision], s3://bucket/key or a folder"
        value={values.storagePath}
        onChange={set('storagePath')}
        form={form}
      />
      <TextField
        label="Base model"
        field="base_model"
        testid="mlops-model-base-model"
        placeholder="optional"
        value={values.baseModel}
        onChange={set('baseModel')}
        form={form}
      />
      <TextField
        label="Tags"
        field="tags"
        testid="mlops-model-tags"
        placeholder="optional"
        hint="optional, comma-separated: llama, chat"
        value={values.tags}
        onChange={set('tags')}
        form={form}
      />
    </FormSection>
  );
}
