import { Widget } from '@lumino/widgets';

import { byAttention, cellTitle, COMPACT_AFTER, nodeSummary, shortNames } from './logic';
import { RaidenModel } from './model';
import { ICluster, IEngine, IEvent, IMySeat, INode, IProgress, ISeat } from './models';
import { apiPath } from './request';
import { TaskStream } from './stream';

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

/** One square per engine, coloured by its state; the same on a node's card and a seat's. */
function engineSquares(engines: IEngine[]): HTMLElement {
  const row = el('div', 'raiden-Engines');
  for (const engine of engines) {
    const square = el('span', `raiden-Engine raiden-Engine-${engine.state}`);
    square.title = `engine ${engine.id}: ${engine.state}`;
    row.append(square);
  }
  return row;
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
    this._stream.dispose();
    this._seatStream.dispose();
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
    this._interrupt = el('button', 'jp-mod-styled raiden-Interrupt', 'Stop work');
    this._interrupt.title = 'Interrupt the tasks running on every engine now; the engines stay up';
    const connect = el('button', 'jp-mod-styled raiden-Connect', 'Insert connect code');
    this._start.onclick = () => void this._model.command('start');
    this._stop.onclick = () => void this._model.command('stop');
    this._interrupt.onclick = () => void this._model.command('interrupt');
    connect.onclick = () => this._insertConnect(this._model.cluster?.name ?? 'local');
    buttons.append(this._start, this._stop, this._interrupt, connect);
    this._message = el('div', 'raiden-Message');
    this._error = el('div', 'raiden-Error');
    this._nodes = el('div', 'raiden-Nodes');
    this._events = el('ul', 'raiden-Events');
    this._class = el('div', 'raiden-Class');
    this._seats = el('div', 'raiden-Seats');
    const classButtons = el('div', 'raiden-Buttons raiden-ClassButtons');
    this._startClass = el('button', 'jp-mod-styled raiden-StartClass', 'Start class');
    this._stopClass = el('button', 'jp-mod-styled jp-mod-warn raiden-StopClass', 'Stop class');
    this._startClass.onclick = () => void this._model.classCommand('start');
    this._stopClass.onclick = () => void this._model.classCommand('stop');
    classButtons.append(this._startClass, this._stopClass);
    this._cluster = el('div', 'raiden-ClusterView');
    this._stream = new TaskStream({
      path: () => {
        const name = this._model.cluster?.name;
        return name ? apiPath('clusters', name, 'tasks') : null;
      }
    });
    this._seatStream = new TaskStream({ path: () => (this._model.view?.seat?.seat ? apiPath('seat', 'tasks') : null) });
    const tasks = el('h3', '', 'Tasks');
    tasks.title = "The last minute of work: a lane per engine, grouped by node, each node's heat under its lanes";
    this._cluster.append(
      this._header,
      buttons,
      this._nodes,
      tasks,
      this._stream.node,
      el('h3', '', 'Events'),
      this._events,
      classButtons,
      this._class,
      this._seats
    );
    this._mine = el('div', 'raiden-MySeat');
    this.node.append(this._message, this._error, this._cluster, this._mine);
  }

  private _update(): void {
    const model = this._model;
    this.node.dataset.interval = String(model.interval);
    this._message.textContent = model.message;
    this._error.textContent = model.error;
    const mine = model.view?.seat ?? null;
    this._cluster.hidden = mine !== null;
    this._mine.hidden = mine === null;
    if (mine) {
      this._renderMySeat(mine);
      return;
    }
    const cluster = model.cluster;
    if (cluster) {
      this._render(cluster, model.view?.events ?? []);
    }
    const progress = model.view?.progress ?? null;
    this._renderClass(progress, model.csvUrl);
    this._renderSeats(model.view?.seats ?? []);
    this._startClass.hidden = progress !== null;
    this._stopClass.hidden = progress === null;
    if (model.busy) {
      this._start.disabled = this._stop.disabled = this._startClass.disabled = this._stopClass.disabled = true;
      this._interrupt.disabled = true;
    } else {
      this._startClass.disabled = this._stopClass.disabled = false;
    }
  }

  /** The teacher's seats: who, engines alive (busy), CPU of its engines, tasks running; End stops one. */
  private _renderSeats(seats: ISeat[]): void {
    this._seats.textContent = '';
    if (!seats.length) {
      return;
    }
    this._seats.append(el('h3', '', `Seats · ${seats.length} taken`));
    const table = el('table', 'raiden-SeatTable');
    const head = el('tr');
    for (const title of ['student', 'seat', 'engines', 'busy', 'CPU', 'running', '']) {
      head.append(el('th', '', title));
    }
    table.append(head);
    for (const seat of seats) {
      const row = el('tr', 'raiden-Seat');
      row.dataset.user = seat.user;
      const end = el('button', 'jp-mod-styled jp-mod-warn raiden-EndSeat', 'End');
      end.title = `Stop ${seat.user}'s engines and free the seat`;
      end.disabled = this._model.busy;
      end.onclick = () => void this._model.endSeat(seat.user);
      const action = el('td');
      action.append(end);
      row.append(
        el('td', '', seat.user),
        el('td', '', String(seat.seat)),
        el('td', 'raiden-SeatEngines', `${seat.engines.alive}/${seat.engines.total}`),
        el('td', '', String(seat.engines.busy)),
        el('td', '', `${Math.round(seat.cpu)}%`),
        el('td', '', String(seat.tasks.running)),
        action
      );
      table.append(row);
    }
    this._seats.append(table);
  }

  /** A student's sidebar: their seat in the class, nothing of the cluster or the other students. */
  private _renderMySeat(mine: IMySeat): void {
    this._mine.textContent = '';
    this._mine.append(el('div', 'raiden-Header', `Class ${mine.class ?? ''} · ${mine.user ?? ''}`));
    const seat = mine.seat;
    const buttons = el('div', 'raiden-Buttons');
    const take = el('button', 'jp-mod-styled jp-mod-accept raiden-TakeSeat', 'Take my seat');
    const giveBack = el('button', 'jp-mod-styled jp-mod-warn raiden-GiveBack', 'Give my seat back');
    const connect = el('button', 'jp-mod-styled raiden-Connect', 'Insert connect code');
    take.onclick = () => void this._model.mySeat('take');
    giveBack.onclick = () => void this._model.mySeat('end');
    connect.onclick = () => this._insertConnect('');
    take.disabled = this._model.busy || seat !== null;
    giveBack.disabled = this._model.busy || seat === null;
    buttons.append(take, giveBack, connect);
    this._mine.append(buttons);
    if (mine.error) {
      this._mine.append(el('div', 'raiden-Error', mine.error));
    }
    if (!seat) {
      this._mine.append(el('div', 'raiden-SeatNone', 'No seat yet: raiden_lab.connect() or Take my seat starts one.'));
      return;
    }
    this._mine.append(
      el(
        'div',
        'raiden-SeatSummary',
        `Seat ${seat.seat} · ${seat.engines.alive}/${seat.engines.total} engines · ` +
          `${seat.engines.busy} busy · CPU ${Math.round(seat.cpu)}%`
      )
    );
    for (const node of seat.nodes) {
      const card = el('div', `raiden-Node raiden-Node-${node.state}`);
      card.dataset.host = node.host;
      card.append(el('div', 'raiden-NodeTitle', `${node.host} · ${node.state}`));
      card.append(engineSquares(node.engines));
      this._mine.append(card);
    }
    this._mine.append(el('h3', '', 'My tasks'), this._seatStream.node);
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
    this._interrupt.disabled = !running || (cluster.tasks.running === 0 && cluster.tasks.queued === 0);
    this._nodes.textContent = '';
    if (cluster.nodes.length > COMPACT_AFTER) {
      this._renderGrid(cluster.nodes);
    } else {
      for (const node of cluster.nodes) {
        this._nodes.append(this._card(node));
      }
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

  /** Past a handful of nodes: one cell per node (coloured by temperature, engines as dots), the nodes that
   * need attention first; a click on a cell opens that node's card (power buttons included) below the grid. */
  private _renderGrid(nodes: INode[]): void {
    this._nodes.append(el('div', 'raiden-NodeSummary', nodeSummary(nodes)));
    const grid = el('div', 'raiden-NodeGrid');
    const names = shortNames(nodes.map(n => n.host));
    for (const node of byAttention(nodes)) {
      const cell = el('button', `raiden-Cell raiden-Cell-${node.state} raiden-Cell-${node.temperature_band}`);
      cell.dataset.host = node.host;
      cell.title = cellTitle(node);
      cell.setAttribute('aria-pressed', String(node.host === this._selected));
      cell.append(el('span', 'raiden-CellName', names.get(node.host) ?? node.host));
      const dots = el('span', 'raiden-Dots');
      for (const engine of node.engines) {
        dots.append(el('span', `raiden-Dot raiden-Engine-${engine.state}`));
      }
      cell.append(dots);
      cell.onclick = () => {
        this._selected = this._selected === node.host ? null : node.host;
        this._update();
      };
      grid.append(cell);
    }
    this._nodes.append(grid);
    const selected = nodes.find(n => n.host === this._selected);
    if (selected) {
      this._nodes.append(this._card(selected));
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
    card.append(engineSquares(node.engines));
    if (node.problem) {
      card.append(el('div', 'raiden-Problem', node.problem));
    }
    const hooks = node.power.hooks;
    if (hooks.includes('on') || hooks.includes('off')) {
      const row = el('div', 'raiden-PowerRow');
      row.append(el('span', 'raiden-PowerState', `power ${node.power.state ?? '?'}`));
      const actions: ('on' | 'off' | 'cycle')[] = ['on', 'off'];
      for (const action of hooks.includes('off') ? [...actions, 'cycle' as const] : actions) {
        if (!hooks.includes(action === 'cycle' ? 'on' : action)) {
          continue;
        }
        const button = el('button', `jp-mod-styled raiden-Power raiden-Power-${action}`, action);
        button.title = `${action === 'cycle' ? 'Power-cycle' : 'Power ' + action} ${node.host} with its power hook`;
        button.disabled = this._model.busy || (action === 'on' && node.state !== 'off');
        button.onclick = () => void this._model.power(node.host, action);
        row.append(button);
      }
      card.append(row);
    }
    return card;
  }

  private _model: RaidenModel;
  private _insertConnect: (name: string) => void;
  private _header!: HTMLElement;
  private _start!: HTMLButtonElement;
  private _stop!: HTMLButtonElement;
  private _interrupt!: HTMLButtonElement;
  private _message!: HTMLElement;
  private _error!: HTMLElement;
  private _nodes!: HTMLElement;
  private _selected: string | null = null;
  private _events!: HTMLElement;
  private _class!: HTMLElement;
  private _seats!: HTMLElement;
  private _startClass!: HTMLButtonElement;
  private _stopClass!: HTMLButtonElement;
  private _cluster!: HTMLElement;
  private _mine!: HTMLElement;
  private _stream!: TaskStream;
  private _seatStream!: TaskStream;
}
