import { IStream, IStreamTask } from '../models';
import { heatColour, streamLayout } from '../streamlayout';

function task(engine: number, start: number, end: number, fn = 'work', outcome = 'ok'): IStreamTask {
  return {
    kind: 'task',
    map: 1,
    function: fn,
    engine,
    node: `pi${engine >> 2}`,
    chunk: 0,
    start,
    end,
    outcome,
    items: 1,
    first: engine,
    said: null
  };
}

function stream(nodes: number, engines: number, tasks: IStreamTask[]): IStream {
  return {
    now: 160,
    since: 100,
    tasks,
    nodes: Array.from({ length: nodes }, (_, n) => ({
      host: `pi${n}`,
      state: 'up',
      engines: Array.from({ length: engines }, (_, e) => n * engines + e),
      samples: [
        { time: 100, temperature: 50, throttled: false, mhz: 1800 },
        { time: 130, temperature: 82, throttled: n === 3, mhz: n === 3 ? 600 : 1800 }
      ]
    }))
  };
}

describe('the task stream', () => {
  it('gives each engine a lane, grouped by node, and each task a box where and when it ran', () => {
    const { boxes, functions } = streamLayout(stream(2, 2, [task(0, 100, 130), task(3, 130, 160, 'other')]), 600);
    const tasks = boxes.filter(b => b.kind === 'task');
    expect(tasks).toHaveLength(2);
    expect(tasks[0]).toMatchObject({ x: 0, w: 300 });
    expect(tasks[1]).toMatchObject({ x: 300, w: 300 });
    expect(tasks[1].y).toBeGreaterThan(tasks[0].y); // engine 3 is on the second node, below
    expect(tasks[0].fill).not.toEqual(tasks[1].fill); // coloured by function
    expect(functions).toEqual(['work', 'other']);
    expect(tasks[1].title).toContain('other · item 3 · engine 3 on pi0');
    const printed = streamLayout(stream(1, 1, [{ ...task(0, 100, 130), said: 'step 7: ok' }]), 600);
    expect(printed.boxes.find(b => b.kind === 'task')?.title).toContain('it printed: step 7: ok');
  });

  it("draws each node's heat under its lanes, throttling in red", () => {
    const { boxes } = streamLayout(stream(4, 1, []), 600);
    const heat = boxes.filter(b => b.kind === 'heat');
    expect(heat).toHaveLength(8);
    expect(heat.filter(b => b.fill === heatColour(0, true))).toHaveLength(1);
    expect(heat.find(b => b.fill === heatColour(0, true))?.title).toContain('pi3: 82.0 °C, 600 MHz, throttled');
  });

  it('narrows the window to the work of the last minute, never under ten seconds', () => {
    const late = streamLayout(stream(1, 1, [task(0, 150, 155)]), 100).boxes.filter(b => b.kind === 'task');
    expect(late[0].x).toBeCloseTo((100 * 0.5) / 10.5, 5); // from 149.5: half a second before the work
    expect(late[0].w).toBeCloseTo((100 * 5) / 10.5, 5);
    const early = streamLayout(stream(1, 1, [task(0, 120, 125)]), 400).boxes.filter(b => b.kind === 'task');
    expect(early[0].x).toBeCloseTo((400 * 0.5) / 40.5, 5); // from 119.5 to 160
    const short = streamLayout(stream(1, 1, [task(0, 159, 159.5)]), 100).boxes.filter(b => b.kind === 'task');
    expect(short[0].w).toBeCloseTo(5, 5); // half a second of a ten-second window
  });

  it('fits 48 nodes of 4 engines in the sidebar, every task drawn', () => {
    const tasks = Array.from({ length: 192 }, (_, e) => task(e, 110, 150));
    const { boxes, height } = streamLayout(stream(48, 4, tasks), 260);
    expect(boxes.filter(b => b.kind === 'task')).toHaveLength(192);
    expect(height).toBeLessThan(900);
    expect(Math.min(...boxes.filter(b => b.kind === 'task').map(b => b.h))).toBeGreaterThanOrEqual(1);
  });
});
