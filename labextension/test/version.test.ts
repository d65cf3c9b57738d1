import { compareVersions, parseVersion, versionVerdict } from '../src/version';

describe('version tolerance', () => {
  it('parses versions with and without a patch and a suffix', () => {
    expect(parseVersion('1.2.3')).toEqual([1, 2, 3, '']);
    expect(parseVersion('v0.4')).toEqual([0, 4, 0, '']);
    expect(parseVersion('2.0.1rc1')).toEqual([2, 0, 1, 'rc1']);
    expect(parseVersion('banana')).toBeNull();
  });

  it('tolerates another patch of the same major.minor', () => {
    expect(compareVersions('0.1.0', '0.1.0')).toBe('same');
    expect(compareVersions('0.1.3', '0.1.0')).toBe('patch');
    expect(compareVersions('0.1.0rc2', '0.1.0')).toBe('patch');
    expect(compareVersions('0.2.0', '0.1.0')).toBe('incompatible');
    expect(compareVersions('1.1.0', '0.1.0')).toBe('incompatible');
    expect(compareVersions('dev', '0.1.0')).toBe('incompatible');
  });

  it('says what to do, and nothing when the versions are the same', () => {
    expect(versionVerdict('0.1.0', '0.1.0')).toEqual({ compatibility: 'same', message: '' });
    const patch = versionVerdict('0.1.2', '0.1.0');
    expect(patch.compatibility).toBe('patch');
    expect(patch.message).toContain('0.1.2');
    const other = versionVerdict('0.3.0', '0.1.0');
    expect(other.compatibility).toBe('incompatible');
    expect(other.message).toMatch(/install the same version/);
    expect(versionVerdict(undefined, '0.1.0').compatibility).toBe('incompatible');
  });
});
