/** A progress bar with amounts, rate and ETA, for any job-like progress. */
import React from 'react';

import { formatAmount, formatEta, formatPercent, formatRate } from '../format';

/** Progress as jobs and builds report it. */
export interface IProgressLike {
  done: number;
  total: number | null;
  unit: string;
  rate: number | null;
  fraction?: number | null;
  eta_seconds?: number | null;
}

/** The line under a bar: `1.20 GB / 4.00 GB · 25.0 MB/s · ETA 1m 52s`. */
export function progressText(progress: IProgressLike, running: boolean): string {
  const { done, total, unit, rate } = progress;
  const parts = [
    total
      ? `${formatAmount(done, unit)} / ${formatAmount(total, unit)}`
      : done
        ? formatAmount(done, unit)
        : ''
  ];
  if (running) {
    parts.push(formatRate(rate, unit), formatEta(progress.eta_seconds));
  }
  return parts.filter(Boolean).join(' · ');
}

/** A determinate bar when the total is known, else an indeterminate one while running. */
export function ProgressBar(props: { progress: IProgressLike; running: boolean }): JSX.Element {
  const { progress, running } = props;
  const fraction = progress.fraction ?? (progress.total ? progress.done / progress.total : null);
  const text = progressText(progress, running);
  return (
    <div className="jp-mlops-progress">
      <div
        className="jp-mlops-progress-track"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}
      >
        <div
          className={
            fraction === null && running
              ? 'jp-mlops-progress-fill jp-mlops-indeterminate'
              : 'jp-mlops-progress-fill'
          }
          style={{ width: fraction === null ? (running ? '30%' : '0') : formatPercent(fraction) }}
        />
      </div>
      {(text || fraction !== null) && (
        <div className="jp-mlops-progress-text">
          {fraction !== null && <span>{formatPercent(fraction)}</span>}
          {text && <span>{text}</span>}
        </div>
      )}
    </div>
  );
}
