/** Fakes for the palette commands' tests: a context answering requests from a function, and
 * an `IAsk` answering from a script (no JupyterLab, no server). */
import { ActionBus, REFRESH } from '../src/actions';
import { IRequestInit } from '../src/api';
import type { IMLOpsContext } from '../src/context';
import { IAsk } from '../src/targets';
import type { Release } from '../src/types';

/** A context whose requests are answered by `answer` and recorded; emitted actions recorded. */
export function fakeContext(answer: (path: string, init?: IRequestInit) => unknown) {
  const requests: Array<[string, IRequestInit | undefined]> = [];
  const emitted: unknown[] = [];
  const actions = new ActionBus();
  for (const name of [REFRESH, 'registry:open-model', 'jobs:show']) {
    actions.connect(name, args => emitted.push([name, args]));
  }
  const context = {
    app: null,
    notebooks: null,
    actions,
    request: async (path: string, init?: IRequestInit) => {
      requests.push([path, init]);
      return answer(path, init);
    }
  } as unknown as IMLOpsContext;
  return { context, requests, emitted };
}

/** An `IAsk` answering from scripts, recording what it was asked and said. */
export function fakeAsk(script: {
  pick?: (labels: string[]) => string | null;
  confirm?: boolean;
  /** The answer to every text question, or one answer a question in turn. */
  text?: string | null | Array<string | null>;
}) {
  const asked: unknown[] = [];
  const said: Array<[string, string]> = [];
  const ask: IAsk = {
    pick: async (title, labels) => {
      asked.push(['pick', title, labels]);
      return script.pick ? script.pick(labels) : null;
    },
    confirm: async (title, body) => {
      asked.push(['confirm', title, body]);
      return script.confirm ?? false;
    },
    text: async (title, label, placeholder) => {
      asked.push(['text', title, label, placeholder]);
      return (Array.isArray(script.text) ? script.text.shift() : script.text) ?? null;
    },
    say: (kind, message) => said.push([kind, message])
  };
  return { ask, asked, said };
}

/** The last item of a list (what was asked or done last). */
export function last<T>(list: readonly T[]): T | undefined {
  return list[list.length - 1];
}

/** A release of `model`: version `1.<id>`, int4 when `id` is odd. */
export function release(
  id: number,
  status: Release['status'] = 'released',
  model = 'llama'
): Release {
  return {
    id,
    model,
    model_id: 1,
    version: `1.${id}`,
    quantization: id % 2 ? 'int4' : 'none',
    release_notes: null,
    status,
    metadata: {},
    auto_build: false,
    mlflow_run: null,
    created_at: '2026-11-23T00:00:00Z',
    updated_at: '2026-11-23T00:00:00Z'
  };
}
