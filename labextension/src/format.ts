/** Formatting of sizes, rates, durations and times for the panel. */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** Whether a progress unit counts bytes (jobs report `B`). */
export function isByteUnit(unit: string): boolean {
  return unit === 'B' || unit === 'bytes';
}

/** `1536` -> `1.5 KB` (decimal units, as download tools show them). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) {
    return '–';
  }
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** A rate in `unit`s a second: `2.5e6, 'B'` -> `2.50 MB/s`, `3, 'files'` -> `3.0 files/s`. */
export function formatRate(rate: number | null | undefined, unit = 'B'): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) {
    return '';
  }
  if (isByteUnit(unit)) {
    return `${formatBytes(rate)}/s`;
  }
  const shown = rate >= 10 ? rate.toFixed(0) : rate.toFixed(1);
  return `${shown} ${unit || 'units'}/s`;
}

/** Seconds as `45s`, `3m 05s`, `2h 07m`, `3d 4h`; empty when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return '';
  }
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s}s`;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) {
    return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  }
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** `ETA 3m 05s`, or empty when unknown. */
export function formatEta(seconds: number | null | undefined): string {
  const text = formatDuration(seconds);
  return text ? `ETA ${text}` : '';
}

/** An amount in its unit: bytes as sizes, anything else as a number and the unit. */
export function formatAmount(value: number | null | undefined, unit: string): string {
  if (isByteUnit(unit)) {
    return formatBytes(value);
  }
  if (value === null || value === undefined) {
    return '–';
  }
  const number = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return unit ? `${number} ${unit}` : number;
}

/** How long ago an ISO time was, relative to `now`: `just now`, `5 min ago`, `3 h ago`, else the date. */
export function formatAgo(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) {
    return '';
  }
  const then = new Date(iso);
  const seconds = (now.getTime() - then.getTime()) / 1000;
  if (Number.isNaN(seconds)) {
    return iso;
  }
  if (seconds < 45) {
    return 'just now';
  }
  if (seconds < 3600) {
    return `${Math.round(seconds / 60)} min ago`;
  }
  if (seconds < 86400) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  return then.toISOString().slice(0, 10);
}

/** A fraction 0..1 as a whole percentage: `0.423` -> `42%`. */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) {
    return '';
  }
  return `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}
