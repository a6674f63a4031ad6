import {
  byAttention,
  cellTitle,
  intervalFromSetting,
  lessonLabel,
  MAX_BACKOFF_MS,
  nodeSummary,
  shortNames,
  pollFrequency,
  statusText
} from '../logic';
import { ICluster, INode } from '../models';
import { apiPath } from '../request';

function node(host: string): INode {
  return {
    host,
    state: 'up',
    arch: 'aarch64',
    cores: 4,
    labels: [],
    engines: [],
    problem: null,
    work_dir: null,
    sample: null,
    temperature_band: 'unknown',
    throttling: null,
    power: { hooks: [], state: null }
  };
}

function cluster(hottest: ICluster['hottest'], state: ICluster['state'] = 'running', alive = 6, total = 8): ICluster {
  return {
    name: 'pis',
    state,
    inventory: 'raiden.toml',
    controller: { ip: '10.0.0.1', transport: 'tcp', ports: null, pid: 1, encrypted: true, port_range: null },
    launcher: 'ssh',
    jobs: [],
    supervisor_pid: 2,
    started: 0,
    engines: { alive, total },
    tasks: { queued: 0, running: 0, done: 0 },
    hottest,
    nodes: [node('pi1'), node('pi2')]
  };
}

describe('statusText', () => {
  it('says engines alive out of total and names the hottest node the server found', () => {
    expect(statusText(cluster({ host: 'pi2', celsius: 71.6 }))).toBe('Raiden: 6/8 engines · hottest pi2 72 °C');
  });

  it('leaves the temperature out when no node has a sensor', () => {
    expect(statusText(cluster(null, 'running', 2, 2))).toBe('Raiden: 2/2 engines');
  });

  it('says when the cluster is stopped, and shows a dash before the first answer', () => {
    expect(statusText(cluster(null, 'stopped', 0, 2))).toBe('Raiden: pis stopped');
    expect(statusText(null)).toBe('Raiden: –');
  });
});

describe('polling', () => {
  it('polls at the chosen interval and backs off up to 30 seconds while the server does not answer', () => {
    expect(pollFrequency(2000)).toEqual({ interval: 2000, backoff: true, max: MAX_BACKOFF_MS });
    expect(pollFrequency(60000).max).toBe(60000);
  });

  it('reads the refresh interval setting in seconds, clamped to the schema range', () => {
    expect(intervalFromSetting(2)).toBe(2000);
    expect(intervalFromSetting(0.75)).toBe(750);
    expect(intervalFromSetting(0.1)).toBe(500);
    expect(intervalFromSetting(600)).toBe(60000);
    expect(intervalFromSetting(undefined)).toBe(2000);
    expect(intervalFromSetting('5')).toBe(2000);
  });
});

describe('URLs', () => {
  it('encodes every name that travels in a path', () => {
    expect(apiPath('clusters', 'desk pi', 'nodes', 'pi#1/../x', 'restart')).toBe(
      'clusters/desk%20pi/nodes/pi%231%2F..%2Fx/restart'
    );
  });
});

describe('the workshop launcher', () => {
  it('labels a tile with the lesson number and title', () => {
    expect(lessonLabel({ file: '02-monte-carlo-pi.ipynb', number: '02', title: 'Monte Carlo pi', copy: null })).toBe(
      '02 Monte Carlo pi'
    );
  });
});

describe('the compact grid', () => {
  it('puts failed and down nodes first, then throttled and hot ones, the rest in order, and off ones last', () => {
    const nodes = ['pi1', 'pi2', 'pi3', 'pi4', 'pi5', 'pi6'].map(node);
    nodes[1].state = 'off';
    nodes[2].temperature_band = 'hot';
    nodes[3].state = 'down';
    nodes[4].throttling = ['under-voltage'];
    nodes[5].state = 'failed';
    expect(byAttention(nodes).map(n => n.host)).toEqual(['pi6', 'pi4', 'pi5', 'pi3', 'pi1', 'pi2']);
  });

  it('sorts a node with a dead engine before its healthy neighbours', () => {
    const nodes = ['pi1', 'pi2'].map(node);
    nodes[1].engines = [{ id: 3, state: 'dead', pid: null }];
    expect(byAttention(nodes).map(n => n.host)).toEqual(['pi2', 'pi1']);
  });

  it('counts the nodes by state over the grid', () => {
    const nodes = ['pi1', 'pi2', 'pi3', 'pi4'].map(node);
    nodes[2].state = 'down';
    nodes[3].state = 'off';
    expect(nodeSummary(nodes)).toBe('4 nodes: 2 up, 1 down, 1 off');
  });

  it("says in a cell's tooltip what the card would", () => {
    const n = node('pi7');
    n.engines = [
      { id: 1, state: 'busy', pid: 10 },
      { id: 2, state: 'dead', pid: null }
    ];
    n.problem = 'ssh: connection refused';
    expect(cellTitle(n)).toBe('pi7 · up · aarch64\n1/2 engines\nssh: connection refused');
  });
});

describe('shortNames', () => {
  it('keeps the part of each host that tells it from the others', () => {
    expect([...shortNames(['10.0.0.11', '10.0.0.12']).values()]).toEqual(['11', '12']);
    expect([...shortNames(['pi1.local', 'pi12.local']).values()]).toEqual(['pi1', 'pi12']);
    expect([...shortNames(['10.0.0.11', '10.0.1.11']).values()]).toEqual(['0.11', '1.11']);
    expect([...shortNames(['head', 'pi1.lan']).values()]).toEqual(['head', 'pi1.lan']);
    expect([...shortNames(['localhost']).values()]).toEqual(['localhost']);
  });
});
