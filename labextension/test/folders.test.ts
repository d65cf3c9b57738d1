import { ServerConnection } from '@jupyterlab/services';

import { folderSuggestions, IContentsEntry, listFolder, splitTyped } from '../src/folders';

const entry = (path: string, type = 'directory'): IContentsEntry => ({
  name: path.split('/').pop()!,
  path,
  type
});

describe('splitTyped', () => {
  it('splits what is typed into the folder to list and the start of a name in it', () => {
    expect(splitTyped('')).toEqual({ folder: '', start: '' });
    expect(splitTyped('pro')).toEqual({ folder: '', start: 'pro' });
    expect(splitTyped('a/b/pro')).toEqual({ folder: 'a/b', start: 'pro' });
    expect(splitTyped(' ./a/b/ ')).toEqual({ folder: 'a/b', start: '' });
  });

  it('lists nothing for what the contents API does not list', () => {
    expect(splitTyped('/srv/project')).toBeNull();
    expect(splitTyped('~/project')).toBeNull();
    expect(splitTyped('a/../b')).toBeNull();
  });
});

describe('folderSuggestions', () => {
  const entries = [
    entry('work/project'),
    entry('work/Proto'),
    entry('work/pyproject.toml', 'file'),
    entry('work/.hidden'),
    entry('work/other')
  ];

  it('offers the folders whose name starts with what is typed, any case, by path', () => {
    expect(folderSuggestions(entries, 'pro')).toEqual(['work/project', 'work/Proto']);
    expect(folderSuggestions(entries, '')).toEqual(['work/other', 'work/project', 'work/Proto']);
  });

  it('offers hidden folders only when asked for', () => {
    expect(folderSuggestions(entries, '.')).toEqual(['work/.hidden']);
  });
});

describe('listFolder', () => {
  function fakeServer(status: number, body: unknown) {
    const seen: string[] = [];
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/base/',
      fetch: async (request: RequestInfo) => {
        seen.push((request as Request).url);
        return new Response(JSON.stringify(body), { status });
      }
    });
    return { settings, seen };
  }

  it("reads a folder's entries through the contents API", async () => {
    const { settings, seen } = fakeServer(200, {
      type: 'directory',
      content: [entry('my folder/a'), entry('my folder/b.txt', 'file')]
    });
    expect(await listFolder('my folder', settings)).toHaveLength(2);
    expect(seen).toEqual(['http://localhost:8888/base/api/contents/my%20folder?content=1']);
  });

  it('gives no entries for a file', async () => {
    const { settings } = fakeServer(200, { type: 'file', content: 'text' });
    expect(await listFolder('a.txt', settings)).toEqual([]);
  });

  it("throws the server's refusal", async () => {
    const { settings } = fakeServer(404, { message: 'No such file or directory: x' });
    await expect(listFolder('x', settings)).rejects.toMatchObject({
      status: 404,
      message: 'No such file or directory: x'
    });
  });
});
