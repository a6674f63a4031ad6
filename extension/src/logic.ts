/**
 * Pure functions behind the sidebar, the status bar and the launcher: no DOM, no JupyterLab,
 * so the unit tests (jest) exercise them directly.
 */
import { ICluster, IJob, ILesson } from './models';

/** The colour band of a temperature, as raiden_lab.widgets.dashboard.temperature_band. */
export function temperatureBand(celsius: number | null): 'unknown' | 'fine' | 'warm' | 'hot' {
  if (celsius === null) {
    return 'unknown';
  }
  return celsius < 60 ? 'fine' : celsius < 75 ? 'warm' : 'hot';
}

/** The hottest node with a sensor, or null when no node has one. */
export function hottest(cluster: ICluster): { host: string; celsius: number } | null {
  let best: { host: string; celsius: number } | null = null;
  for (const node of cluster.nodes) {
    const t = node.sample?.temperature;
    if (t !== null && t !== undefined && (best === null || t > best.celsius)) {
      best = { host: node.host, celsius: t };
    }
  }
  return best;
}

/** The status bar's text: engines alive out of total, and the hottest node. */
export function statusText(cluster: ICluster | null): string {
  if (cluster === null) {
    return 'Raiden: –';
  }
  const hot = hottest(cluster);
  const heat = hot ? ` · hottest ${hot.host} ${hot.celsius.toFixed(0)} °C` : '';
  if (cluster.state === 'stopped') {
    return `Raiden: ${cluster.name} stopped${heat}`;
  }
  return `Raiden: ${cluster.engines.alive}/${cluster.engines.total} engines${heat}`;
}

/** One line for the MPI or Slurm job that runs the engines, as `raiden status` prints it. */
export function jobText(job: IJob): string {
  const what = job.kind === 'mpi' ? 'mpiexec pid' : 'Slurm job';
  const reason = job.reason ? ` (${job.reason})` : '';
  const nodes = job.nodes.length ? ` · ${job.nodes.join(', ')}` : '';
  return `${what} ${job.id ?? '(refused)'}: ${job.state}${reason}${nodes}`;
}

export const MAX_BACKOFF_MS = 30000;
export const HIDDEN_MS = 10000;

/**
 * The next polling delay: the chosen interval while answers come, doubling (up to 30 s) while
 * the server does not answer.
 */
export function backoff(intervalMs: number, previousMs: number, ok: boolean): number {
  return ok ? intervalMs : Math.min(Math.max(previousMs, intervalMs) * 2, MAX_BACKOFF_MS);
}

/** Standing by while hidden: at least 10 s between polls. */
export function standby(delayMs: number, visible: boolean): number {
  return visible ? delayMs : Math.max(delayMs, HIDDEN_MS);
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
