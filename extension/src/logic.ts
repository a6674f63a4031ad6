/**
 * Pure functions behind the sidebar, the status bar and the launcher: no DOM, no JupyterLab,
 * so the unit tests (jest) exercise them directly. The server decodes; these only phrase.
 */
import { ICluster, ILesson, INode, NodeState, TemperatureBand } from './models';

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

/** Past this many nodes the sidebar shows a compact grid (one cell per node) instead of a card per node. */
export const COMPACT_AFTER = 8;

const SEVERITY: Record<NodeState, number> = { failed: 0, down: 1, starting: 4, draining: 5, up: 6, off: 7 };
const HEAT: Record<TemperatureBand, number> = { hot: 0, warm: 1, fine: 2, unknown: 3 };

/** How much a node needs a look: failed, down, throttled, hot, starting, draining, then up (dead engines and
 * busy CPU first), and last those powered off on purpose. */
function attention(node: INode): number[] {
  const dead = node.engines.filter(e => e.state === 'dead').length;
  const cpu = node.sample?.cpu_total ?? 0;
  let severity = SEVERITY[node.state];
  if (severity > 1 && node.state !== 'off') {
    severity = node.throttling?.length ? 2 : node.temperature_band === 'hot' ? 3 : severity;
  }
  return [severity, -dead, HEAT[node.temperature_band], -cpu];
}

/** The nodes sorted by what needs attention (ties keep the inventory's order). */
export function byAttention(nodes: INode[]): INode[] {
  const keyed = nodes.map((node, index) => ({ node, key: [...attention(node), index] }));
  keyed.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) {
      if (a.key[i] !== b.key[i]) {
        return a.key[i] - b.key[i];
      }
    }
    return 0;
  });
  return keyed.map(k => k.node);
}

/** One line over the grid: "48 nodes: 45 up, 2 down, 1 off". */
export function nodeSummary(nodes: INode[]): string {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    counts.set(node.state, (counts.get(node.state) ?? 0) + 1);
  }
  const order = ['up', 'starting', 'draining', 'down', 'failed', 'off'];
  const parts = order.filter(s => counts.has(s)).map(s => `${counts.get(s)} ${s}`);
  return `${nodes.length} nodes: ${parts.join(', ')}`;
}

/** A grid cell's tooltip: everything the card would say, on one line each. */
export function cellTitle(node: INode): string {
  const lines = [`${node.host} · ${node.state}${node.arch ? ' · ' + node.arch : ''}`];
  const temp = node.sample?.temperature ?? null;
  if (temp !== null) {
    lines.push(`${temp.toFixed(1)} °C`);
  }
  if (node.throttling?.length) {
    lines.push(node.throttling.join(', '));
  }
  if (node.sample?.cpu_total !== null && node.sample?.cpu_total !== undefined) {
    lines.push(`CPU ${Math.round(node.sample.cpu_total)}%`);
  }
  const alive = node.engines.filter(e => e.state !== 'dead').length;
  lines.push(`${alive}/${node.engines.length} engines`);
  if (node.problem) {
    lines.push(node.problem);
  }
  return lines.join('\n');
}

/** The part of each host name that tells it from the others: "10.0.0.11" -> "11", "pi7.local" -> "pi7". */
export function shortNames(hosts: string[]): Map<string, string> {
  const parts = hosts.map(h => h.split('.'));
  let head = 0;
  let tail = 0;
  const shortest = Math.min(...parts.map(p => p.length));
  while (hosts.length > 1 && head < shortest - 1 && parts.every(p => p[head] === parts[0][head])) {
    head++;
  }
  while (
    hosts.length > 1 &&
    tail < shortest - 1 - head &&
    parts.every(p => p[p.length - 1 - tail] === parts[0][parts[0].length - 1 - tail]) &&
    !/^\d+$/.test(parts[0][parts[0].length - 1 - tail]) // a domain, not an address's last number
  ) {
    tail++;
  }
  return new Map(hosts.map((h, i) => [h, parts[i].slice(head, parts[i].length - tail).join('.')]));
}
