/** Which registry the server uses, as the header shows it: the workspace folder and the store. */

/** The last folder of a path: `/home/ada/work/` -> `work`. */
export function folderName(path: string): string {
  const parts = path.split(/[\\/]+/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : path;
}

const DIALECTS: Record<string, string> = {
  sqlite: 'SQLite',
  postgresql: 'PostgreSQL',
  postgres: 'PostgreSQL',
  mysql: 'MySQL',
  mariadb: 'MariaDB'
};

/** A store's database URL in a word or two: `SQLite`, `PostgreSQL @ db` (the whole URL goes
 * in the tooltip). */
export function storeLabel(url: string): string {
  const found = /^([A-Za-z][A-Za-z0-9]*)(?:\+[^:]*)?:\/\/([^/?#]*)/.exec(url.trim());
  if (!found) {
    return url;
  }
  const dialect = DIALECTS[found[1].toLowerCase()] ?? found[1];
  const host = found[2]
    .replace(/^.*@/, '')
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1');
  return host ? `${dialect} @ ${host}` : dialect;
}
