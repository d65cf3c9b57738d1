/**
 * The workspace's folders, for a path field that offers them as the user types: Jupyter's
 * own contents API (`GET /api/contents/<path>?content=1`) through `ServerConnection`, the
 * folders of the folder typed so far that start with the rest.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { requestJSON } from './api';

/** A typed path split where suggestions come from: the folder to list and the start of a
 * name in it (`a/b/pro` -> `a/b` and `pro`); null for a path the contents API does not
 * list (absolute, or going up with `..`). */
export function splitTyped(typed: string): { folder: string; start: string } | null {
  const text = typed.trim().replace(/^\.\//, '');
  if (text.startsWith('/') || text.startsWith('~') || text.split('/').includes('..')) {
    return null;
  }
  const cut = text.lastIndexOf('/');
  return cut < 0
    ? { folder: '', start: text }
    : { folder: text.slice(0, cut).replace(/\/+$/, ''), start: text.slice(cut + 1) };
}

/** One entry of a contents API folder listing (what is used of it). */
export interface IContentsEntry {
  name: string;
  path: string;
  type: string;
}

/** The paths of the folders among `entries` whose name starts with `start` (any case),
 * hidden ones only when `start` asks for them, by name. */
export function folderSuggestions(entries: readonly IContentsEntry[], start: string): string[] {
  const wanted = start.toLowerCase();
  return entries
    .filter(entry => entry.type === 'directory')
    .filter(entry => entry.name.toLowerCase().startsWith(wanted))
    .filter(entry => !entry.name.startsWith('.') || wanted.startsWith('.'))
    .map(entry => entry.path)
    .sort((a, b) => a.localeCompare(b));
}

/** The entries of the workspace folder `folder` ('' for the root). Throws `APIError` (404
 * for a folder that does not exist). */
export async function listFolder(
  folder: string,
  settings: ServerConnection.ISettings
): Promise<IContentsEntry[]> {
  const url = `${URLExt.join(settings.baseUrl, 'api/contents', URLExt.encodeParts(folder))}?content=1`;
  const model = await requestJSON<{ type?: string; content?: IContentsEntry[] | null }>(
    url,
    { cache: 'no-cache' },
    settings
  );
  return model.type === 'directory' && Array.isArray(model.content) ? model.content : [];
}
