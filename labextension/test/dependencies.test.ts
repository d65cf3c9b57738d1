import { APIError } from '../src/api';
import {
  changeText,
  cleanPath,
  heldBackText,
  isNoDeclaration,
  planVerdict,
  projectParam,
  sortRows,
  wanted
} from '../src/deps';
import type { DepsPlan, DepsRow } from '../src/types';

function row(name: string, state: DepsRow['state'], specifier = ''): DepsRow {
  return {
    name,
    key: name.toLowerCase(),
    state,
    specifier,
    installed: state === 'missing' ? null : '1.0',
    protected: state === 'protected',
    reason: '',
    requirements: [],
    sources: [],
    extras: [],
    constraints: []
  };
}

function plan(overrides: Partial<DepsPlan> = {}): DepsPlan {
  return {
    installer: 'uv',
    requirements: ['packaging>=24'],
    constraints: [],
    changes: [
      { name: 'packaging', before: '23.0', after: '24.1', requested: true, kind: 'upgrade' }
    ],
    held_back: [],
    problems: [],
    resolver_error: null,
    ok: true,
    ...overrides
  };
}

describe('dependency rows', () => {
  it('puts what needs attention first, then by name', () => {
    const rows = [
      row('zeta', 'ok'),
      row('alpha', 'ok'),
      row('torch', 'protected'),
      row('numpy', 'outdated'),
      row('absent', 'missing'),
      row('win-only', 'skipped')
    ];
    expect(sortRows(rows).map(r => r.name)).toEqual([
      'absent',
      'numpy',
      'torch',
      'win-only',
      'alpha',
      'zeta'
    ]);
    expect(rows[0].name).toBe('zeta'); // the input is left alone
  });

  it('says what a row asks for', () => {
    expect(wanted(row('numpy', 'ok', '>=2'))).toBe('>=2');
    expect(wanted(row('numpy', 'ok'))).toBe('any version');
  });
});

describe('repair plans', () => {
  it('shows a change as before -> after', () => {
    expect(changeText(plan().changes[0])).toBe('23.0 → 24.1');
    expect(
      changeText({ name: 'x', before: null, after: '1.0', requested: true, kind: 'install' })
    ).toBe('not installed → 1.0');
  });

  it('is repairable only when ok and something changes', () => {
    expect(planVerdict(plan())).toEqual({ repairable: true, reason: '' });
    expect(planVerdict(plan({ changes: [] }))).toEqual({
      repairable: false,
      reason: 'Nothing to install or change.'
    });
    expect(planVerdict(plan({ ok: false, problems: ['torch is protected', 'no index'] }))).toEqual({
      repairable: false,
      reason: 'torch is protected; no index'
    });
    expect(planVerdict(plan({ ok: false, resolver_error: 'no solution' })).reason).toBe(
      'no solution'
    );
    expect(planVerdict(plan({ ok: false })).reason).toBe('the plan cannot be carried out');
  });

  it('says what is held back and why', () => {
    expect(
      heldBackText({
        name: 'numpy',
        chosen: '1.26.4',
        newest: '2.1.0',
        why: 'numpy 2.1.0 would need torch 2.5'
      })
    ).toBe('numpy 1.26.4 (newest 2.1.0): numpy 2.1.0 would need torch 2.5');
    expect(heldBackText({ name: 'numpy' })).toBe('numpy');
  });
});

describe('the project folder', () => {
  it('tells "no declaration found" from the other refusals of project', () => {
    const none = new APIError(
      400,
      'InvalidInput',
      'project: no pyproject.toml or requirements.txt found from /w/nb upward; give the project folder',
      'project'
    );
    expect(isNoDeclaration(none)).toBe(true);
    const notFolder = new APIError(400, 'InvalidInput', "project: 'x' is not a folder", 'project');
    const outside = new APIError(403, 'Forbidden', "project: '/etc' is outside", 'project');
    const other = new APIError(400, 'InvalidInput', 'python: not an interpreter', 'python');
    for (const error of [notFolder, outside, other, undefined]) {
      expect(isNoDeclaration(error)).toBe(false);
    }
  });

  it('cleans a typed path', () => {
    expect(cleanPath(' ./a//b/ ')).toBe('a/b');
    expect(cleanPath('/srv//p/')).toBe('/srv/p');
  });

  it("sends a workspace folder relative to the notebook's folder, an absolute one as it is", () => {
    expect(projectParam('proj', 'nb.ipynb')).toBe('proj');
    expect(projectParam('work/proj', 'work/nb/x.ipynb')).toBe('../proj');
    expect(projectParam('proj/', 'a/b/x.ipynb')).toBe('../../proj');
    expect(projectParam('a/b', 'a/b/x.ipynb')).toBe('.');
    expect(projectParam('a/b/c', 'a/b/x.ipynb')).toBe('c');
    expect(projectParam('/srv/proj', 'a/x.ipynb')).toBe('/srv/proj');
  });
});
