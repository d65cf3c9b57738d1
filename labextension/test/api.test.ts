import { ServerConnection } from '@jupyterlab/services';

import {
  APIError,
  apiPath,
  apiUrl,
  fetchItems,
  fetchUpTo,
  IPage,
  MAX_LIMIT,
  parseError,
  Query,
  requestAPI
} from '../src/api';

/** Settings whose fetch records the request and answers `answer`. */
function fakeServer(answer: () => Response | Promise<Response>) {
  const seen: Request[] = [];
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/lab-base/',
    token: 'secret',
    fetch: async (request: RequestInfo) => {
      seen.push(request as Request);
      return answer();
    }
  });
  return { settings, seen };
}

describe('apiUrl', () => {
  it('joins the base URL, mlops/api and the path', () => {
    expect(apiUrl('http://h/base/', 'jobs')).toBe('http://h/base/mlops/api/jobs');
    expect(apiUrl('http://h/', '/jobs/3/log')).toBe('http://h/mlops/api/jobs/3/log');
  });

  it('encodes the query and leaves out undefined values', () => {
    expect(
      apiUrl('http://h/', 'jobs', { limit: 50, active: true, kind: undefined, q: 'a b&c' })
    ).toBe('http://h/mlops/api/jobs?limit=50&active=true&q=a+b%26c');
    expect(apiUrl('http://h/', 'jobs', {})).toBe('http://h/mlops/api/jobs');
  });

  it('encodes each path segment', () => {
    expect(apiPath('models', 'a b/c', 7)).toBe('models/a%20b%2Fc/7');
  });
});

describe('parseError', () => {
  it("reads the server's {error, message, field}", () => {
    const error = parseError(
      400,
      'Bad Request',
      JSON.stringify({ error: 'InvalidInput', message: 'name: is required', field: 'name' })
    );
    expect(error).toBeInstanceOf(APIError);
    expect([error.status, error.error, error.message, error.field]).toEqual([
      400,
      'InvalidInput',
      'name: is required',
      'name'
    ]);
  });

  it('falls back to the status text and the start of a non-JSON body', () => {
    const error = parseError(502, 'Bad Gateway', '<html>proxy down</html>');
    expect([error.status, error.error, error.message, error.field]).toEqual([
      502,
      'http_502',
      'Bad Gateway: <html>proxy down</html>',
      undefined
    ]);
    expect(parseError(500, '', '').message).toBe('HTTP 500');
    expect(parseError(404, 'Not Found', '{"other": 1}').message).toBe('Not Found: {"other": 1}');
  });
});

describe('requestAPI', () => {
  it('sends the token and JSON body, and returns the JSON answer', async () => {
    const { settings, seen } = fakeServer(
      () => new Response(JSON.stringify({ id: 1, name: 'm' }), { status: 201 })
    );
    const answer = await requestAPI<{ id: number }>(
      'models',
      { method: 'POST', json: { name: 'm' }, query: { x: 1 } },
      settings
    );
    expect(answer).toEqual({ id: 1, name: 'm' });
    const request = seen[0];
    // no cache-buster parameter: the API refuses query parameters it does not know
    expect(request.url).toBe('http://localhost:8888/lab-base/mlops/api/models?x=1');
    expect(request.cache).toBe('no-cache');
    expect(request.method).toBe('POST');
    expect(request.headers.get('Authorization')).toBe('token secret');
    expect(request.headers.get('Content-Type')).toBe('application/json');
    expect(await request.text()).toBe('{"name":"m"}');
  });

  it('throws APIError parsed from an error answer', async () => {
    const { settings } = fakeServer(
      () =>
        new Response(JSON.stringify({ error: 'Conflict', message: 'job 3 already succeeded' }), {
          status: 409,
          statusText: 'Conflict'
        })
    );
    const failure = requestAPI('jobs/3/cancel', { method: 'POST' }, settings);
    await expect(failure).rejects.toMatchObject({
      name: 'APIError',
      status: 409,
      error: 'Conflict',
      message: 'job 3 already succeeded'
    });
  });

  it('turns an unreachable server into status 0', async () => {
    const { settings } = fakeServer(() => {
      throw new TypeError('Failed to fetch');
    });
    await expect(requestAPI('health', {}, settings)).rejects.toMatchObject({
      status: 0,
      error: 'network'
    });
  });

  it('answers null for an empty body', async () => {
    const { settings } = fakeServer(() => new Response('', { status: 200 }));
    expect(await requestAPI('x', {}, settings)).toBeNull();
  });
});

describe('fetchUpTo', () => {
  /** A list of `n` numbers served in pages of at most `limit`, cursors as offsets. */
  function server(n: number) {
    const calls: Array<[number, string | undefined]> = [];
    const fetchPage = async (limit: number, cursor?: string): Promise<IPage<number>> => {
      calls.push([limit, cursor]);
      const start = cursor ? Number(cursor) : 0;
      const items = Array.from(
        { length: Math.max(0, Math.min(limit, n - start)) },
        (_, i) => start + i
      );
      const end = start + items.length;
      return { items, next_cursor: end < n ? String(end) : null };
    };
    return { calls, fetchPage };
  }

  it('takes one request when the page bound allows', async () => {
    const s = server(120);
    const page = await fetchUpTo(s.fetchPage, 50);
    expect(page.items).toHaveLength(50);
    expect(page.next_cursor).toBe('50');
    expect(s.calls).toEqual([[50, undefined]]);
  });

  it('follows cursors past the page bound and says when the list ends', async () => {
    const s = server(MAX_LIMIT + 30);
    const page = await fetchUpTo(s.fetchPage, MAX_LIMIT + 100);
    expect(page.items).toHaveLength(MAX_LIMIT + 30);
    expect(page.items[MAX_LIMIT]).toBe(MAX_LIMIT);
    expect(page.next_cursor).toBeNull();
    expect(s.calls).toEqual([
      [MAX_LIMIT, undefined],
      [100, String(MAX_LIMIT)]
    ]);
  });
});

describe('fetchItems', () => {
  /** `total` numbers served at most 2 a page, whatever the limit, cursors as offsets. */
  function pages(total: number) {
    const calls: Query[] = [];
    const request = async (_path: string, init: { query: Query }): Promise<IPage<number>> => {
      calls.push(init.query);
      const start = init.query.cursor ? Number(init.query.cursor) : 0;
      const end = Math.min(total, start + Number(init.query.limit), start + 2);
      const items = Array.from({ length: end - start }, (_, i) => start + i);
      return { items, next_cursor: end < total ? String(end) : null };
    };
    return { calls, request };
  }

  it('follows next_cursor to the end', async () => {
    const { calls, request } = pages(5);
    expect(await fetchItems(request, 'releases')).toEqual([0, 1, 2, 3, 4]);
    expect(calls).toEqual([
      { limit: MAX_LIMIT, cursor: undefined },
      { limit: MAX_LIMIT, cursor: '2' },
      { limit: MAX_LIMIT, cursor: '4' }
    ]);
  });

  it('stops at max and keeps the query', async () => {
    const { calls, request } = pages(100);
    const items = await fetchItems(request, 'releases', { model: 'm' }, 5);
    expect(items).toEqual([0, 1, 2, 3, 4]);
    expect(calls.map(q => [q.model, q.limit, q.cursor])).toEqual([
      ['m', 5, undefined],
      ['m', 3, '2'],
      ['m', 1, '4']
    ]);
  });
});
