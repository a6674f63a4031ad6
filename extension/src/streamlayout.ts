import { IStream } from './models';

export interface IBox {
  x: number;
  y: number;
  w: number;
  h: number;
  fill: string;
  kind: 'task' | 'heat' | 'label';
  outcome?: string;
  title: string;
}

/** The narrowest window the stream shows, in seconds: short work is not stretched across the sidebar. */
export const MIN_WINDOW_S = 10;

export const COLOURS = ['#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#ad1457', '#5d4037', '#455a64'];

/** A temperature's colour: blue when cool, through green and yellow, to orange at 80 °C. */
export function heatColour(celsius: number | null, throttled: boolean): string {
  if (throttled) {
    return '#d50000';
  }
  if (celsius === null) {
    return '#e0e0e0';
  }
  const hue = Math.max(20, Math.min(210, 210 - ((celsius - 35) * 190) / 45));
  return `hsl(${Math.round(hue)}, 70%, 55%)`;
}

/**
 * Where every box of the stream goes, in a `width`-wide picture: a lane per engine grouped by node, the
 * node's heat under its lanes, time left to right over the stream's window (the last minute, narrowed to
 * the work in it). Lanes shrink with the number
 * of engines (48 nodes of 4 engines fit in the sidebar); tasks are coloured by function.
 */
export function streamLayout(stream: IStream, width: number): { boxes: IBox[]; height: number; functions: string[] } {
  const engines = stream.nodes.reduce((n, node) => n + Math.max(1, node.engines.length), 0);
  const lane = engines > 96 ? 2 : engines > 32 ? 4 : engines > 12 ? 7 : 12;
  const heat = Math.max(2, Math.round(lane / 2));
  const gap = engines > 32 ? 1 : 3;
  // the window: the stream's last minute, narrowed to the work in it (at least MIN_WINDOW_S wide)
  const first = Math.min(...stream.tasks.map(t => t.start), stream.now);
  const span = Math.max(MIN_WINDOW_S, Math.min(stream.now - stream.since, stream.now - first + 0.5));
  const from = stream.now - span;
  const x = (t: number) => Math.max(0, Math.min(width, ((t - from) / span) * width));
  const functions: string[] = [];
  for (const task of stream.tasks) {
    if (!functions.includes(task.function)) {
      functions.push(task.function);
    }
  }
  const colour = (fn: string) => COLOURS[functions.indexOf(fn) % COLOURS.length];
  const boxes: IBox[] = [];
  const laneOf = new Map<number, number>();
  let y = 0;
  for (const node of stream.nodes) {
    for (const id of node.engines) {
      laneOf.set(id, y);
      y += lane;
    }
    if (!node.engines.length) {
      y += lane;
    }
    node.samples.forEach((sample, i) => {
      const next = node.samples[i + 1];
      const x0 = x(sample.time);
      const x1 = next ? x(next.time) : Math.min(width, x0 + 3);
      const t =
        (sample.temperature === null ? 'no sensor' : `${sample.temperature.toFixed(1)} °C`) +
        (sample.mhz ? `, ${Math.round(sample.mhz)} MHz` : '');
      boxes.push({
        x: x0,
        y,
        w: Math.max(1, x1 - x0),
        h: heat,
        fill: heatColour(sample.temperature, sample.throttled),
        kind: 'heat',
        title: `${node.host}: ${t}${sample.throttled ? ', throttled' : ''}`
      });
    });
    y += heat + gap;
  }
  for (const task of stream.tasks) {
    const top = task.engine === null ? undefined : laneOf.get(task.engine);
    if (top === undefined) {
      continue;
    }
    const items =
      task.kind === 'chunk' ? `items ${task.first}–${(task.first ?? 0) + (task.items ?? 1) - 1}` : `item ${task.first}`;
    boxes.push({
      x: x(task.start),
      y: top,
      w: Math.max(1, x(task.end) - x(task.start)),
      h: Math.max(1, lane - (lane > 3 ? 1 : 0)),
      fill: colour(task.function),
      kind: 'task',
      outcome: task.outcome,
      title:
        `${task.function} · ${items} · engine ${task.engine} on ${task.node} · ${task.outcome} · ` +
        `${((task.end - task.start) * 1000).toFixed(1)} ms` +
        (task.said ? `\nit printed: ${task.said}` : '')
    });
  }
  return { boxes, height: y, functions };
}
