import {
  formatAgo,
  formatAmount,
  formatBytes,
  formatDuration,
  formatEta,
  formatPercent,
  formatRate
} from '../src/format';
import { progressText } from '../src/components/progress';

describe('formatting', () => {
  it('formats bytes in decimal units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.50 KB');
    expect(formatBytes(25_300_000)).toBe('25.3 MB');
    expect(formatBytes(4e9)).toBe('4.00 GB');
    expect(formatBytes(123e12)).toBe('123 TB');
    expect(formatBytes(null)).toBe('–');
    expect(formatBytes(NaN)).toBe('–');
  });

  it('formats rates in their unit', () => {
    expect(formatRate(2_500_000)).toBe('2.50 MB/s');
    expect(formatRate(3, 'files')).toBe('3.0 files/s');
    expect(formatRate(12.4, 'steps')).toBe('12 steps/s');
    expect(formatRate(null)).toBe('');
  });

  it('formats durations and ETAs', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(44.6)).toBe('45s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(7620)).toBe('2h 07m');
    expect(formatDuration(3 * 86400 + 4 * 3600)).toBe('3d 4h');
    expect(formatDuration(-1)).toBe('');
    expect(formatEta(185)).toBe('ETA 3m 05s');
    expect(formatEta(null)).toBe('');
  });

  it('formats amounts, percentages and times ago', () => {
    expect(formatAmount(2048, 'B')).toBe('2.05 KB');
    expect(formatAmount(2048, 'bytes')).toBe('2.05 KB');
    expect(formatAmount(3, 'steps')).toBe('3 steps');
    expect(formatAmount(2.25, '')).toBe('2.3');
    expect(formatPercent(0.423)).toBe('42%');
    expect(formatPercent(1.7)).toBe('100%');
    const now = new Date('2026-01-02T12:00:00Z');
    expect(formatAgo('2026-01-02T11:59:30+00:00', now)).toBe('just now');
    expect(formatAgo('2026-01-02T11:50:00+00:00', now)).toBe('10 min ago');
    expect(formatAgo('2026-01-02T09:00:00+00:00', now)).toBe('3 h ago');
    expect(formatAgo('2025-12-20T09:00:00+00:00', now)).toBe('2025-12-20');
    expect(formatAgo(null, now)).toBe('');
  });

  it('describes progress with amounts, rate and ETA while running', () => {
    const progress = { done: 1.2e9, total: 4e9, unit: 'B', rate: 25e6, eta_seconds: 112 };
    expect(progressText(progress, true)).toBe('1.20 GB / 4.00 GB · 25.0 MB/s · ETA 1m 52s');
    expect(progressText(progress, false)).toBe('1.20 GB / 4.00 GB');
    expect(progressText({ done: 7, total: null, unit: 'steps', rate: null }, true)).toBe('7 steps');
    expect(progressText({ done: 0, total: null, unit: '', rate: null }, true)).toBe('');
  });
});
