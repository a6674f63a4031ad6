import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { pollFrequency } from './logic';
import { ICluster, ICommandResult, IView } from './models';
import { apiPath, requestAPI } from './request';

/**
 * The cluster shown on this page, polled from the server: one request per poll, backing off
 * while the server does not answer, standing by while the page is hidden.
 */
export class RaidenModel implements IDisposable {
  constructor(options: { serverSettings?: ServerConnection.ISettings; intervalMs?: number } = {}) {
    this._serverSettings = options.serverSettings ?? ServerConnection.makeSettings();
    this._interval = options.intervalMs ?? 2000;
    this._poll = new Poll({
      factory: () => this._fetch(),
      frequency: pollFrequency(this._interval),
      standby: 'when-hidden',
      name: 'raiden-lab:view'
    });
  }

  /** Emitted after every poll and command, whatever came of it. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get view(): IView | null {
    return this._view;
  }

  get cluster(): ICluster | null {
    return this._view?.cluster ?? null;
  }

  /** The server's sentence when the last poll failed; empty when it answered. */
  get error(): string {
    return this._error;
  }

  /** What the last start or stop said. */
  get message(): string {
    return this._message;
  }

  /** Where the class's grid downloads as CSV (while a class of the cluster shown runs). */
  get csvUrl(): string | null {
    const name = this.cluster?.name;
    if (!name || !this._view?.progress) {
      return null;
    }
    return URLExt.join(this._serverSettings.baseUrl, 'raiden-lab', apiPath('clusters', name, 'class.csv'));
  }

  get busy(): boolean {
    return this._busy;
  }

  get interval(): number {
    return this._interval;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** How often to ask the server (the refreshInterval setting), in milliseconds. */
  setInterval(ms: number): void {
    if (ms !== this._interval) {
      this._interval = ms;
      this._poll.frequency = pollFrequency(ms);
    }
    this._changed.emit();
  }

  /** Ask now, and wait for the answer. */
  async refresh(): Promise<void> {
    await this._poll.refresh();
    await this._poll.tick;
  }

  /** Start or stop the cluster shown, or interrupt its work; the sentence it ends with becomes `message`. */
  async command(verb: 'start' | 'stop' | 'interrupt'): Promise<void> {
    const name = this.cluster?.name ?? 'local';
    const doing = { start: 'Starting', stop: 'Stopping', interrupt: 'Interrupting the work on' }[verb];
    await this._post(apiPath('clusters', name, verb), `${doing} ${name}…`);
  }

  /** The teacher starts or stops the class of the cluster shown (students listed in students.txt). */
  async classCommand(verb: 'start' | 'stop'): Promise<void> {
    const name = this.cluster?.name ?? 'local';
    await this._post(
      apiPath('clusters', name, 'class', verb),
      verb === 'start' ? `Starting the class of ${name}…` : 'Stopping the class and its seats…'
    );
  }

  /** The teacher ends one student's seat: its engines stop. */
  async endSeat(user: string): Promise<void> {
    const name = this.cluster?.name ?? 'local';
    await this._post(apiPath('clusters', name, 'class', 'seats', user, 'end'), `Ending ${user}'s seat…`);
  }

  /** Switch one node with its power hooks (the sidebar's node card); the supervisor stops or starts its engines. */
  async power(host: string, action: 'on' | 'off' | 'cycle'): Promise<void> {
    const name = this.cluster?.name ?? 'local';
    const doing = { on: 'Powering on', off: 'Powering off', cycle: 'Power-cycling' }[action];
    await this._post(apiPath('clusters', name, 'nodes', host, 'power', action), `${doing} ${host}…`);
  }

  /** A student takes their seat (engines start on the nodes), or gives it back. */
  async mySeat(verb: 'take' | 'end'): Promise<void> {
    await this._post(apiPath('seat', verb), verb === 'take' ? 'Starting your seat…' : 'Giving your seat back…');
  }

  private async _post(path: string, doing: string): Promise<void> {
    this._busy = true;
    this._message = doing;
    this._changed.emit();
    try {
      const result = await requestAPI<Partial<ICommandResult>>(path, { method: 'POST' }, this._serverSettings);
      this._message = [result.output, ...(result.problems ?? [])].filter(Boolean).join('\n');
    } catch (error) {
      this._message = (error as Error).message;
    } finally {
      this._busy = false;
    }
    await this.refresh();
  }

  dispose(): void {
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _fetch(): Promise<void> {
    const name = this._view?.cluster?.name;
    const query = `view?events=8${name ? `&cluster=${encodeURIComponent(name)}` : ''}`;
    try {
      this._view = await requestAPI<IView>(query, {}, this._serverSettings);
      this._error = '';
    } catch (error) {
      this._error = `Raiden Lab: ${(error as Error).message}`;
      if (error instanceof ServerConnection.ResponseError && error.response.status === 404) {
        this._view = null; // that cluster is gone (its inventory renamed it): show the first one next time
      }
      throw error; // the poll backs off
    } finally {
      this._changed.emit();
    }
  }

  private _serverSettings: ServerConnection.ISettings;
  private _poll: Poll;
  private _interval: number;
  private _view: IView | null = null;
  private _error = '';
  private _message = '';
  private _busy = false;
  private _changed = new Signal<this, void>(this);
}
