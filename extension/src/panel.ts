import { Widget } from '@lumino/widgets';

import { backoff, jobText, standby, temperatureBand } from './logic';
import { ICluster, ICommandResult, IEvent, INode, IThrottled } from './models';
import { requestAPI } from './request';

const THROTTLE_FLAGS: Array<[keyof IThrottled, string]> = [
  ['under_voltage', 'under-voltage'],
  ['freq_capped', 'frequency capped'],
  ['throttled', 'throttled'],
  ['soft_temp_limit', 'soft temperature limit']
];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

/**
 * The Raiden sidebar: the cluster, Start and Stop, a card per node, the latest events.
 * It polls the server, backs off while the server does not answer, and stands by while hidden.
 */
export class RaidenPanel extends Widget {
  constructor(options: { insertConnect: (name: string) => void; onUpdate?: (cluster: ICluster) => void }) {
    super();
    this.id = 'raiden-lab-panel';
    this.addClass('raiden-Panel');
    this.title.caption = 'Raiden Lab';
    this._insertConnect = options.insertConnect;
    this._onUpdate = options.onUpdate;
    this._build();
    this.node.dataset.interval = String(this._interval);
    void this.refresh();
  }

  insertConnect(): void {
    this._insertConnect(this._name || 'local');
  }

  /** How often to ask the server while shown (the refreshInterval setting), in milliseconds. */
  setInterval(ms: number): void {
    const changed = ms !== this._interval;
    this._interval = ms;
    this._delay = ms;
    this.node.dataset.interval = String(ms);
    if (changed) {
      void this.refresh();
    }
  }

  get interval(): number {
    return this._interval;
  }

  get cluster(): ICluster | null {
    return this._cluster;
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    super.dispose();
  }

  async refresh(): Promise<void> {
    window.clearTimeout(this._timer);
    let ok = false;
    try {
      const clusters = await requestAPI<ICluster[]>('clusters');
      this._cluster = clusters.find(c => c.name === this._name) ?? clusters[0] ?? null;
      if (this._cluster) {
        this._name = this._cluster.name;
        const events = await requestAPI<IEvent[]>(`clusters/${this._cluster.name}/events?limit=8`);
        this._render(this._cluster, events);
        this._onUpdate?.(this._cluster);
      }
      this._error.textContent = '';
      ok = true;
    } catch (error) {
      this._error.textContent = `Raiden Lab: ${(error as Error).message}`;
    }
    // back off while the server does not answer; stand by (poll slowly) while hidden
    this._delay = backoff(this._interval, this._delay, ok);
    this._timer = window.setTimeout(() => void this.refresh(), standby(this._delay, this.isVisible));
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private _build(): void {
    this._header = el('div', 'raiden-Header');
    const buttons = el('div', 'raiden-Buttons');
    this._start = el('button', 'jp-mod-styled jp-mod-accept raiden-Start', 'Start');
    this._stop = el('button', 'jp-mod-styled jp-mod-warn raiden-Stop', 'Stop');
    const connect = el('button', 'jp-mod-styled raiden-Connect', 'Insert connect code');
    this._start.onclick = () => void this.command('start');
    this._stop.onclick = () => void this.command('stop');
    connect.onclick = () => this.insertConnect();
    buttons.append(this._start, this._stop, connect);
    this._message = el('div', 'raiden-Message');
    this._error = el('div', 'raiden-Error');
    this._nodes = el('div', 'raiden-Nodes');
    this._events = el('ul', 'raiden-Events');
    this.node.append(this._header, buttons, this._message, this._error, this._nodes, el('h3', '', 'Events'), this._events);
  }

  /** Start or stop the cluster shown (the buttons and the command palette both come here). */
  async command(verb: 'start' | 'stop'): Promise<void> {
    const name = this._name || 'local';
    this._start.disabled = this._stop.disabled = true;
    this._message.textContent = verb === 'start' ? `Starting ${name}…` : `Stopping ${name}…`;
    try {
      const result = await requestAPI<ICommandResult>(`clusters/${name}/${verb}`, { method: 'POST' });
      this._message.textContent = [result.output, ...result.problems].filter(Boolean).join('\n');
    } catch (error) {
      this._message.textContent = (error as Error).message;
    }
    await this.refresh();
  }

  private _render(cluster: ICluster, events: IEvent[]): void {
    const running = cluster.state !== 'stopped';
    this._header.textContent = '';
    this._header.append(
      el('span', 'raiden-Name', cluster.name),
      el('span', `raiden-State raiden-State-${cluster.state}`, cluster.state),
      el('span', 'raiden-Count', `${cluster.engines.alive}/${cluster.engines.total} engines`)
    );
    for (const job of running ? cluster.jobs : []) {
      this._header.append(el('div', `raiden-Job raiden-Job-${job.kind}`, jobText(job)));
    }
    this._start.disabled = running;
    this._stop.disabled = !running;
    this._nodes.textContent = '';
    for (const node of cluster.nodes) {
      this._nodes.append(this._card(node));
    }
    this._events.textContent = '';
    for (const event of [...events].reverse()) {
      const when = new Date(event.time * 1000).toLocaleTimeString();
      this._events.append(el('li', `raiden-Event raiden-Event-${event.kind}`, `${when} ${event.host ?? ''} ${event.kind}: ${event.message}`));
    }
  }

  private _card(node: INode): HTMLElement {
    const card = el('div', `raiden-Node raiden-Node-${node.state}`);
    card.dataset.host = node.host;
    card.append(el('div', 'raiden-NodeTitle', `${node.host} · ${node.state}${node.arch ? ' · ' + node.arch : ''}`));
    const sample = node.sample;
    const temp = sample?.temperature ?? null;
    card.append(el('div', `raiden-Temp raiden-Temp-${temperatureBand(temp)}`, temp === null ? 'no sensor' : `${temp.toFixed(1)} °C`));
    const flags = sample?.throttled;
    if (flags) {
      const now = THROTTLE_FLAGS.filter(([key]) => Boolean(flags[key])).map(([, label]) => label);
      card.append(el('div', now.length ? 'raiden-Throttled raiden-Throttled-now' : 'raiden-Throttled', now.length ? now.join(', ') : 'not throttled'));
    }
    if (sample) {
      card.append(el('div', 'raiden-Cpu', `CPU ${sample.cpu.map(c => Math.round(c) + '%').join(' ')}`));
      if (sample.memory) {
        card.append(el('div', 'raiden-Mem', `memory ${Math.round(sample.memory.percent)}%`));
      }
    }
    const engines = el('div', 'raiden-Engines');
    for (const engine of node.engines) {
      const square = el('span', `raiden-Engine raiden-Engine-${engine.state}`);
      square.title = `engine ${engine.id}: ${engine.state}`;
      engines.append(square);
    }
    card.append(engines);
    if (node.problem) {
      card.append(el('div', 'raiden-Problem', node.problem));
    }
    return card;
  }

  private _cluster: ICluster | null = null;
  private _name = '';
  private _interval = 2000;
  private _delay = 2000;
  private _timer = 0;
  private _insertConnect: (name: string) => void;
  private _onUpdate?: (cluster: ICluster) => void;
  private _header!: HTMLElement;
  private _start!: HTMLButtonElement;
  private _stop!: HTMLButtonElement;
  private _message!: HTMLElement;
  private _error!: HTMLElement;
  private _nodes!: HTMLElement;
  private _events!: HTMLElement;
}
