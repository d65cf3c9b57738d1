import { byName, formatMetric, runIdOf, runSeconds, runTime } from '../src/mlflow';

describe("a release's MLflow run", () => {
  it('reads the run id of a run id or a runs:/ URI', () => {
    expect(runIdOf('runs:/0a1b2c/model')).toBe('0a1b2c');
    expect(runIdOf(' 0a1b2c ')).toBe('0a1b2c');
  });

  it('takes run times as ISO strings or MLflow milliseconds', () => {
    expect(runTime(1_700_000_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(runTime('2023-11-14T22:13:20Z')).toBe('2023-11-14T22:13:20.000Z');
    expect(runTime(null)).toBe('');
    expect(runSeconds({ start_time: 1_700_000_000_000, end_time: 1_700_000_090_000 })).toBe(90);
    expect(runSeconds({ start_time: 1_700_000_000_000, end_time: null })).toBeNull();
  });

  it('shows metrics short and records by name', () => {
    expect(formatMetric(3)).toBe('3');
    expect(formatMetric(0.123456)).toBe('0.1235');
    expect(formatMetric(12345.678)).toBe('12350');
    expect(byName({ loss: 1, acc: 2 })).toEqual([
      ['acc', 2],
      ['loss', 1]
    ]);
    expect(byName(undefined)).toEqual([]);
  });
});
