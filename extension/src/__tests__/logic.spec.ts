import {
  backoff,
  hottest,
  intervalFromSetting,
  jobText,
  lessonLabel,
  MAX_BACKOFF_MS,
  standby,
  statusText,
  temperatureBand
} from '../logic';
import { ICluster, INode, ISample } from '../models';

function sample(temperature: number | null): ISample {
  return {
    time: 0,
    cpu: [5, 6],
    cpu_total: 5.5,
    load: null,
    memory: null,
    temperature,
    throttled: null,
    disk_free: null,
    net: null,
    engines: {}
  };
}

function node(host: string, temperature: number | null | undefined): INode {
  return {
    host,
    state: 'up',
    arch: 'aarch64',
    cores: 4,
    labels: [],
    engines: [],
    problem: null,
    work_dir: null,
    sample: temperature === undefined ? null : sample(temperature)
  };
}

function cluster(nodes: INode[], state: ICluster['state'] = 'running', alive = 6, total = 8): ICluster {
  return {
    name: 'pis',
    state,
    inventory: 'raiden.toml',
    controller: { ip: '10.0.0.1', ports: null, pid: 1, encrypted: true, port_range: null },
    launcher: 'ssh',
    jobs: [],
    supervisor_pid: 2,
    started: 0,
    engines: { alive, total },
    tasks: { queued: 0, running: 0, done: 0 },
    nodes
  };
}

describe('temperatureBand', () => {
  it('matches the dashboard widget: fine under 60, warm under 75, hot from 75', () => {
    expect(temperatureBand(null)).toBe('unknown');
    expect(temperatureBand(52)).toBe('fine');
    expect(temperatureBand(59.9)).toBe('fine');
    expect(temperatureBand(60)).toBe('warm');
    expect(temperatureBand(74.9)).toBe('warm');
    expect(temperatureBand(75)).toBe('hot');
  });
});

describe('statusText', () => {
  it('says engines alive out of total and names the hottest node', () => {
    const c = cluster([node('pi1', 48.2), node('pi2', 71.6), node('pi3', null), node('pi4', undefined)]);
    expect(hottest(c)).toEqual({ host: 'pi2', celsius: 71.6 });
    expect(statusText(c)).toBe('Raiden: 6/8 engines · hottest pi2 72 °C');
  });

  it('leaves the temperature out when no node has a sensor', () => {
    const c = cluster([node('localhost', null)], 'running', 2, 2);
    expect(hottest(c)).toBeNull();
    expect(statusText(c)).toBe('Raiden: 2/2 engines');
  });

  it('says when the cluster is stopped, and shows a dash before the first answer', () => {
    expect(statusText(cluster([node('localhost', null)], 'stopped', 0, 2))).toBe('Raiden: pis stopped');
    expect(statusText(null)).toBe('Raiden: –');
  });
});

describe('polling', () => {
  it('polls at the chosen interval while the server answers', () => {
    expect(backoff(2000, 2000, true)).toBe(2000);
    expect(backoff(2000, 16000, true)).toBe(2000);
  });

  it('doubles the delay while the server does not answer, up to 30 seconds', () => {
    const delays: number[] = [];
    let delay = 2000;
    for (let i = 0; i < 6; i++) {
      delay = backoff(2000, delay, false);
      delays.push(delay);
    }
    expect(delays).toEqual([4000, 8000, 16000, MAX_BACKOFF_MS, MAX_BACKOFF_MS, MAX_BACKOFF_MS]);
  });

  it('stands by while hidden: at least ten seconds between polls', () => {
    expect(standby(2000, true)).toBe(2000);
    expect(standby(2000, false)).toBe(10000);
    expect(standby(30000, false)).toBe(30000);
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

describe('the workshop launcher', () => {
  it('labels a tile with the lesson number and title', () => {
    expect(lessonLabel({ file: '02-monte-carlo-pi.ipynb', number: '02', title: 'Monte Carlo pi', copy: null })).toBe(
      '02 Monte Carlo pi'
    );
  });
});

describe('jobs', () => {
  it('names the MPI or Slurm job that runs the engines, with Slurm\'s reason', () => {
    expect(jobText({ kind: 'mpi', id: '4412', state: 'RUNNING', nodes: ['pi1', 'pi2'], engines: 8 })).toBe(
      'mpiexec pid 4412: RUNNING · pi1, pi2'
    );
    expect(jobText({ kind: 'slurm', id: '17', state: 'PENDING', nodes: [], engines: 16, reason: 'Resources' })).toBe(
      'Slurm job 17: PENDING (Resources)'
    );
    expect(jobText({ kind: 'slurm', id: null, state: 'FAILED', nodes: [], engines: 4, reason: 'invalid partition' })).toBe(
      'Slurm job (refused): FAILED (invalid partition)'
    );
  });
});
