import { ServerConnection } from '@jupyterlab/services';

import { RaidenModel } from '../model';

type Answer = { status: number; body: unknown };

/** A server that answers each path as told, and remembers what was asked. */
function fakeServer(answers: Record<string, Answer>): { settings: ServerConnection.ISettings; asked: string[] } {
  const asked: string[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const path = (url.pathname.replace('/raiden-lab/', '') + url.search).replace(/&\d+$/, ''); // not the cache-buster
    asked.push(`${init?.method ?? (input as Request).method ?? 'GET'} ${path}`);
    const answer = answers[path.split('?')[0]] ?? { status: 404, body: { message: `no route ${path}` } };
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  };
  const settings = ServerConnection.makeSettings({ baseUrl: 'http://head.local/', fetch, token: 't' });
  return { settings, asked };
}

const VIEW = { clusters: ['local'], cluster: { name: 'local', state: 'stopped' }, events: [] };

describe('RaidenModel', () => {
  const models: RaidenModel[] = [];
  const track = (model: RaidenModel): RaidenModel => {
    models.push(model);
    return model;
  };
  afterEach(() => models.splice(0).forEach(model => model.dispose())); // a failed test must not leave a poll ticking

  it('asks the server once per poll for the whole view', async () => {
    const { settings, asked } = fakeServer({ view: { status: 200, body: VIEW } });
    const model = track(new RaidenModel({ serverSettings: settings }));
    await model.refresh();
    expect(model.cluster?.name).toBe('local');
    expect(model.error).toBe('');
    expect(asked.every(line => line.startsWith('GET view?events=8'))).toBe(true);
  });

  it("shows the server's sentence from the JSON body when it refuses", async () => {
    const { settings } = fakeServer({
      view: { status: 200, body: VIEW },
      'clusters/local/start': { status: 409, body: { message: 'cluster local: no node passed the preflight' } }
    });
    const model = track(new RaidenModel({ serverSettings: settings }));
    await model.refresh();
    await model.command('start');
    expect(model.message).toBe('cluster local: no node passed the preflight');
  });

  it('asks for the cluster it shows, and forgets one that is gone', async () => {
    const answers: Record<string, Answer> = { view: { status: 200, body: VIEW } };
    const { settings, asked } = fakeServer(answers);
    const model = track(new RaidenModel({ serverSettings: settings }));
    await model.refresh();
    await model.refresh();
    expect(asked[asked.length - 1]).toBe('GET view?events=8&cluster=local');
    answers.view = { status: 404, body: { message: "no cluster named 'local'" } };
    await model.refresh().catch(() => undefined);
    answers.view = { status: 200, body: VIEW };
    await model.refresh();
    expect(asked[asked.length - 1]).toBe('GET view?events=8');
  });

  it('says why a poll failed', async () => {
    const { settings } = fakeServer({ view: { status: 404, body: { message: "no cluster named 'gone'" } } });
    const model = track(new RaidenModel({ serverSettings: settings }));
    await model.refresh().catch(() => undefined);
    expect(model.error).toBe("Raiden Lab: no cluster named 'gone'");
  });
});
