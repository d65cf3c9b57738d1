/**
 * Which servers this sidebar works with: any jupyter_mlops of the same
 * major.minor version. Another patch release is tolerated with a warning.
 */

/** How a server's version relates to the sidebar's. */
export type Compatibility = 'same' | 'patch' | 'incompatible';

/** What the sidebar tells the user about the server's version. */
export interface IVersionVerdict {
  compatibility: Compatibility;
  /** A sentence for the user; empty when the versions are the same. */
  message: string;
}

/** `[major, minor, patch, rest]` of a version such as `1.2.3rc1` or `1.2`. */
export function parseVersion(version: string): [number, number, number, string] | null {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?(.*)$/.exec(version.trim());
  if (!match) {
    return null;
  }
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0), match[4]];
}

/** Compare the server's version with the sidebar's. */
export function compareVersions(server: string, client: string): Compatibility {
  const s = parseVersion(server);
  const c = parseVersion(client);
  if (!s || !c || s[0] !== c[0] || s[1] !== c[1]) {
    return 'incompatible';
  }
  return s[2] === c[2] && s[3] === c[3] ? 'same' : 'patch';
}

/** The verdict, with the message the panel shows. */
export function versionVerdict(server: string | undefined, client: string): IVersionVerdict {
  if (!server) {
    return {
      compatibility: 'incompatible',
      message: `The server's jupyter_mlops does not say its version (sidebar ${client}); upgrade the server package and restart it.`
    };
  }
  const compatibility = compareVersions(server, client);
  const message = {
    same: '',
    patch: `Server jupyter_mlops ${server}, sidebar ${client}: a different patch release; reload the page after upgrading if something looks wrong.`,
    incompatible: `Server jupyter_mlops ${server} does not match the sidebar ${client}: install the same version in the server's environment and restart it.`
  }[compatibility];
  return { compatibility, message };
}
