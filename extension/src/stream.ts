import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { requestAPI } from './request';
import { IStream } from './models';
import { COLOURS, streamLayout } from './streamlayout';

const SVG = 'http://www.w3.org/2000/svg';

/**
 * The sidebar's live task stream: asks the server once a second while shown, draws the last minute.
 * `path` says where to ask (a cluster's `clusters/NAME/tasks`, a student's `seat/tasks`), or null.
 */
export class TaskStream extends Widget implements IDisposable {
  constructor(options: { path: () => string | null; serverSettings?: ServerConnection.ISettings }) {
    super();
    this.addClass('raiden-Stream');
    this._path = options.path;
    this._serverSettings = options.serverSettings ?? ServerConnection.makeSettings();
    this._legend = document.createElement('div');
    this._legend.className = 'raiden-StreamLegend';
    this._svg = document.createElementNS(SVG, 'svg');
    this._svg.classList.add('raiden-StreamPicture');
    this.node.append(this._legend, this._svg);
    this._poll = new Poll({
      factory: () => this._fetch(),
      frequency: { interval: 1000, backoff: true, max: 10000 },
      standby: 'when-hidden',
      name: 'raiden-lab:tasks'
    });
  }

  get stream(): IStream | null {
    return this._stream;
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  private async _fetch(): Promise<void> {
    const path = this._path();
    if (!path || this.node.offsetParent === null) {
      // no cluster, or the sidebar is closed
      return;
    }
    this._stream = await requestAPI<IStream>(path + '?seconds=60', {}, this._serverSettings);
    this.draw();
  }

  /** Draw what the server said last. */
  draw(): void {
    const stream = this._stream;
    const width = Math.max(120, this.node.clientWidth || 260);
    this._svg.textContent = '';
    if (!stream) {
      return;
    }
    const { boxes, height, functions } = streamLayout(stream, width);
    this._svg.setAttribute('width', String(width));
    this._svg.setAttribute('height', String(Math.max(height, 8)));
    for (const box of boxes) {
      const rect = document.createElementNS(SVG, 'rect');
      rect.setAttribute('x', box.x.toFixed(1));
      rect.setAttribute('y', String(box.y));
      rect.setAttribute('width', box.w.toFixed(1));
      rect.setAttribute('height', String(box.h));
      rect.setAttribute('fill', box.fill);
      rect.setAttribute(
        'class',
        `raiden-Stream-${box.kind}` + (box.outcome ? ` raiden-Stream-${box.outcome.replace(' ', '-')}` : '')
      );
      const title = document.createElementNS(SVG, 'title');
      title.textContent = box.title;
      rect.append(title);
      this._svg.append(rect);
    }
    const tasks = stream.tasks.length;
    this._legend.textContent = '';
    this._legend.append(document.createTextNode(tasks ? `last minute: ${tasks} tasks ` : 'last minute: no tasks'));
    functions.forEach((f, i) => {
      const key = document.createElement('span');
      key.className = 'raiden-StreamKey';
      key.style.color = COLOURS[i % COLOURS.length];
      key.textContent = `■ ${f} `;
      this._legend.append(key);
    });
  }

  private _path: () => string | null;
  private _serverSettings: ServerConnection.ISettings;
  private _poll: Poll;
  private _stream: IStream | null = null;
  private _svg: SVGSVGElement;
  private _legend: HTMLElement;
}
