import { ServerConnection } from '@jupyterlab/services';

import { APIError, apiPath, apiUrl, parseError, requestAPI } from '../src/api';

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
