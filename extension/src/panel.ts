import { Widget } from '@lumino/widgets';

import { RaidenModel } from './model';
import { ICluster, IEvent, INode, IProgress } from './models';

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

/** The Raiden sidebar: the cluster, Start and Stop, a card per node, the latest events. */
export class RaidenPanel extends Widget {
  constructor(options: { model: RaidenModel; insertConnect: (name: string) => void }) {
    super();
    this.id = 'raiden-lab-panel';
    this.addClass('raiden-Panel');
    this.title.caption = 'Raiden Lab';
    this._model = options.model;
    this._insertConnect = options.insertConnect;
    this._build();
    this._model.changed.connect(this._update, this);
    this._update();
  }

  dispose(): void {
    this._model.changed.disconnect(this._update, this);
    super.dispose();
  }

  protected onAfterShow(): void {
    void this._model.refresh();
  }

  private _build(): void {
    this._header = el('div', 'raiden-Header');
    const buttons = el('div', 'raiden-Buttons');
    this._start = el('button', 'jp-mod-styled jp-mod-accept raiden-Start', 'Start');
    this._stop = el('button', 'jp-mod-styled jp-mod-warn raiden-Stop', 'Stop');
    const connect = el('button', 'jp-mod-styled raiden-Connect', 'Insert connect code');
    this._start.onclick = () => void this._model.command('start');
    this._stop.onclick = () => void this._model.command('stop');
    connect.onclick = () => this._insertConnect(this._model.cluster?.name ?? 'local');
    buttons.append(this._start, this._stop, connect);
    this._message = el('div', 'raiden-Message');
    this._error = el('div', 'raiden-Error');
    this._nodes = el('div', 'raiden-Nodes');
    this._events = el('ul', 'raiden-Events');
    this._class = el('div', 'raiden-Class');
    this.node.append(
      this._header,
      buttons,
      this._message,
      this._error,
      this._nodes,
      el('h3', '', 'Events'),
      this._events,
      this._class
    );
  }

  private _update(): void {
    const model = this._model;
    this.node.dataset.interval = String(model.interval);
    this._message.textContent = model.message;
    this._error.textContent = model.error;
    const cluster = model.cluster;
    if (cluster) {
      this._render(cluster, model.view?.events ?? []);
    }
    this._renderClass(model.view?.progress ?? null, model.csvUrl);
    if (model.busy) {
      this._start.disabled = this._stop.disabled = true;
    }
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
      this._header.append(el('div', `raiden-Job raiden-Job-${job.kind}`, job.text));
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
      this._events.append(
        el(
          'li',
          `raiden-Event raiden-Event-${event.kind}`,
          `${when} ${event.host ?? ''} ${event.kind}: ${event.message}`
        )
      );
    }
  }

  /** The class's grid: a row per student, a column per exercise (✔ passed, ✘ tried, · not yet). */
  private _renderClass(progress: IProgress | null, csvUrl: string | null): void {
    this._class.textContent = '';
    if (!progress) {
      return;
    }
    this._class.append(el('h3', '', `Class · ${progress.students.length} students`));
    const table = el('table', 'raiden-Grid');
    const head = el('tr');
    head.append(el('th', '', 'student'), el('th', '', '✔'));
    for (const exercise of progress.exercises) {
      const th = el('th', '', exercise.split('.')[0]);
      th.title = exercise;
      head.append(th);
    }
    table.append(head);
    const marks: Record<string, string> = { passed: '✔', failed: '✘' };
    for (const student of progress.students) {
      const row = el('tr', 'raiden-Student');
      row.dataset.user = student.user;
      row.append(el('td', '', student.user), el('td', '', String(student.passed)));
      for (const exercise of progress.exercises) {
        const result = student.results[exercise] ?? null;
        const cell = el('td', `raiden-Result raiden-Result-${result ?? 'none'}`, result ? marks[result] : '·');
        cell.title = `${student.user} · ${exercise}: ${result ?? 'not tried'}`;
        row.append(cell);
      }
      table.append(row);
    }
    this._class.append(table);
    if (csvUrl) {
      const link = el('a', 'raiden-Csv', 'Download as CSV');
      link.href = csvUrl;
      link.download = `${progress.name}-progress.csv`;
      this._class.append(link);
    }
  }

  private _card(node: INode): HTMLElement {
    const card = el('div', `raiden-Node raiden-Node-${node.state}`);
    card.dataset.host = node.host;
    card.append(el('div', 'raiden-NodeTitle', `${node.host} · ${node.state}${node.arch ? ' · ' + node.arch : ''}`));
    const sample = node.sample;
    const temp = sample?.temperature ?? null;
    card.append(
      el(
        'div',
        `raiden-Temp raiden-Temp-${node.temperature_band}`,
        temp === null ? 'no sensor' : `${temp.toFixed(1)} °C`
      )
    );
    const now = node.throttling;
    if (now !== null) {
      const className = now.length ? 'raiden-Throttled raiden-Throttled-now' : 'raiden-Throttled';
      card.append(el('div', className, now.length ? now.join(', ') : 'not throttled'));
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

  private _model: RaidenModel;
  private _insertConnect: (name: string) => void;
  private _header!: HTMLElement;
  private _start!: HTMLButtonElement;
  private _stop!: HTMLButtonElement;
  private _message!: HTMLElement;
  private _error!: HTMLElement;
  private _nodes!: HTMLElement;
  private _events!: HTMLElement;
  private _class!: HTMLElement;
}
