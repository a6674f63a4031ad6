/**
 * Pure functions behind the sidebar, the status bar and the launcher: no DOM, no JupyterLab,
 * so the unit tests (jest) exercise them directly. The server decodes; these only phrase.
 */
import { ICluster, ILesson } from './models';

/** The status bar's text: engines alive out of total, and the hottest node. */
export function statusText(cluster: ICluster | null): string {
  if (cluster === null) {
    return 'Raiden: –';
  }
  const hot = cluster.hottest;
  const heat = hot ? ` · hottest ${hot.host} ${hot.celsius.toFixed(0)} °C` : '';
  if (cluster.state === 'stopped') {
    return `Raiden: ${cluster.name} stopped${heat}`;
  }
  return `Raiden: ${cluster.engines.alive}/${cluster.engines.total} engines${heat}`;
}

/** Polling stops doubling its delay here while the server does not answer. */
export const MAX_BACKOFF_MS = 30000;

/** The Poll's frequency: the chosen interval, backing off (doubling up to 30 s) while the server does not answer. */
export function pollFrequency(intervalMs: number): { interval: number; backoff: boolean; max: number } {
  return { interval: intervalMs, backoff: true, max: Math.max(MAX_BACKOFF_MS, intervalMs) };
}

/** The refresh interval in milliseconds from the setting in seconds (clamped to the schema's range). */
export function intervalFromSetting(seconds: unknown): number {
  const value = typeof seconds === 'number' && Number.isFinite(seconds) ? seconds : 2;
  return Math.round(Math.min(Math.max(value, 0.5), 60) * 1000);
}

/** A launcher tile's label: "02 Scatter, gather, reduce: Monte Carlo pi". */
export function lessonLabel(lesson: ILesson): string {
  return `${lesson.number} ${lesson.title}`;
}
