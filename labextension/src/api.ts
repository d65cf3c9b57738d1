/**
 * The one way the sidebar talks to the server: `requestAPI` under
 * `<base_url>/mlops/api/`, through `ServerConnection` (token and XSRF handled
 * there), JSON in and out, errors as `APIError`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Query parameters; `undefined` ones are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** What `requestAPI` takes besides the path. */
export interface IRequestInit extends RequestInit {
  /** Query parameters, encoded onto the URL. */
  query?: Query;
  /** A value sent as the JSON body (instead of `body`). */
  json?: unknown;
}

/** An answer that is not 2xx, or no answer at all (`status` 0). */
export class APIError extends Error {
  /** HTTP status, 0 when the server could not be reached. */
  readonly status: number;
  /** The server's error kind (`InvalidInput`, `NotFound`, `Conflict`, ...), `network` or `http_<status>`. */
  readonly error: string;
  /** The input field the error names, if any (for inline form errors). */
  readonly field?: string;

  constructor(status: number, error: string, message: string, field?: string) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.error = error;
    this.field = field;
  }
}

/** The most a list request may ask for (the server's `limit` bound). */
export const MAX_LIMIT = 500;

/** One page of a list endpoint. */
export interface IPage<T> {
  items: T[];
  next_cursor: string | null;
}

/** The first `want` items of a list, in as few requests as the server's page bound allows
 * (one while `want` <= MAX_LIMIT); `next_cursor` says whether more exist. */
export async function fetchUpTo<T>(
  fetchPage: (limit: number, cursor?: string) => Promise<IPage<T>>,
  want: number
): Promise<IPage<T>> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(Math.min(MAX_LIMIT, want - items.length), cursor);
    items.push(...page.items);
    if (!page.next_cursor || items.length >= want) {
      return { items, next_cursor: page.next_cursor };
    }
    cursor = page.next_cursor;
  }
}

/** Up to `max` items of the list at `path` (with `query`), newest first as the server lists. */
export async function fetchItems<T>(
  request: (path: string, init: { query: Query }) => Promise<IPage<T>>,
  path: string,
  query: Query = {},
  max = 2000
): Promise<T[]> {
  const fetchPage = (limit: number, cursor?: string) =>
    request(path, { query: { ...query, limit, cursor } });
  return (await fetchUpTo(fetchPage, max)).items;
}

/** Any failure as an `APIError` (status 0 for anything not from the server). */
export function asAPIError(reason: unknown): APIError {
  if (reason instanceof APIError) {
    return reason;
  }
  return new APIError(0, 'client', reason instanceof Error ? reason.message : String(reason));
}

/** `path` joined from segments, each URL-encoded: `apiPath('models', name, 'x')`. */
export function apiPath(...segments: Array<string | number>): string {
  return segments.map(s => encodeURIComponent(String(s))).join('/');
}

/** The full URL of an API path under `baseUrl`, with the query encoded. */
export function apiUrl(baseUrl: string, path: string, query?: Query): string {
  const url = URLExt.join(baseUrl, 'mlops/api', path);
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) {
      params.append(key, String(value));
    }
  }
  const search = params.toString();
  return search ? `${url}?${search}` : url;
}

/** The `APIError` for a failed answer: the server's `{error, message, field}`
 * when the body is that JSON, else the status text and the start of the body. */
export function parseError(status: number, statusText: string, body: string): APIError {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    data = undefined;
  }
  if (data && typeof data === 'object') {
    const d = data as Record<string, unknown>;
    const message = typeof d.message === 'string' ? d.message : undefined;
    const error = typeof d.error === 'string' ? d.error : undefined;
    if (message || error) {
      const field = typeof d.field === 'string' ? d.field : undefined;
      return new APIError(status, error ?? `http_${status}`, message ?? error!, field);
    }
  }
  const text = body.trim().slice(0, 200);
  const reason = statusText || `HTTP ${status}`;
  return new APIError(status, `http_${status}`, text ? `${reason}: ${text}` : reason);
}

/**
 * Call `<base_url>/mlops/api/<path>` and return its JSON answer as `T`.
 * Throws `APIError` for a non-2xx answer (parsed from the server's JSON) or
 * when the server cannot be reached (status 0).
 */
export async function requestAPI<T>(
  path: string,
  init: IRequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  // 'no-cache' (always revalidated, so always fresh) rather than JupyterLab's default
  // 'no-store', for which ServerConnection appends a timestamp to the query: the API
  // refuses query parameters it does not know.
  const { query, json, ...rest } = { cache: 'no-cache' as RequestCache, ...init };
  const url = apiUrl(settings.baseUrl, path, query);
  if (json !== undefined) {
    rest.body = JSON.stringify(json);
    rest.headers = { 'Content-Type': 'application/json', ...rest.headers };
  }
  return requestJSON<T>(url, rest, settings);
}

/** The JSON answer of `url` (any Jupyter server URL) through `ServerConnection`, as `T`.
 * Throws `APIError` for a non-2xx answer or when the server cannot be reached (status 0). */
export async function requestJSON<T>(
  url: string,
  init: RequestInit,
  settings: ServerConnection.ISettings
): Promise<T> {
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (reason) {
    throw new APIError(0, 'network', `the Jupyter server could not be reached: ${String(reason)}`);
  }
  const body = await response.text();
  if (!response.ok) {
    throw parseError(response.status, response.statusText, body);
  }
  return (body ? JSON.parse(body) : null) as T;
}
