import { ServerConnection } from '@jupyterlab/services';

import { RaidenModel } from '../model';

type Answer = { status: number; body: unknown };

/** A server that answers each path as told, and remembers what was asked. */
function fakeServer(answers: Record<string, Answer>): { settings: ServerConnection.ISettings; asked: string[] } {
  const asked: string[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const path = url.pathname.replace('/raiden-lab/', '') + url.search;
    asked.push(`${init?.method ?? (input as Request).method ?? 'GET'} ${path}`);
    const answer = answers[path.split('?')[0]] ?? { status: 404, body: { message: `no route ${path}` } };
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  };
  const settings = ServerConnection.makeSettings({ baseUrl: 'http://head.local/', fetch, token: 't' });
  return { settings, asked };
}

const VIEW = { clusters: ['local'], cluster: { name: 'local', state: 'stopped' }, events: [] };

describe('RaidenModel', () => {
  it('asks the server once per poll for the whole view', async () => {
    const { settings, asked } = fakeServer({ view: { status: 200, body: VIEW } });
    const model = new RaidenModel({ serverSettings: settings });
    await model.refresh();
    expect(model.cluster?.name).toBe('local');
    expect(model.error).toBe('');
    expect(asked.every(line => line.startsWith('GET view?events=8'))).toBe(true);
    model.dispose();
  });

  it("shows the server's sentence from the JSON body when it refuses", async () => {
    const { settings } = fakeServer({
      view: { status: 200, body: VIEW },
      'clusters/local/start': { status: 409, body: { message: 'cluster local: no node passed the preflight' } }
    });
    const model = new RaidenModel({ serverSettings: settings });
    await model.refresh();
    await model.command('start');
    expect(model.message).toBe('cluster local: no node passed the preflight');
    model.dispose();
  });

  it('says why a poll failed', async () => {
    const { settings } = fakeServer({ view: { status: 404, body: { message: "no cluster named 'gone'" } } });
    const model = new RaidenModel({ serverSettings: settings });
    await model.refresh().catch(() => undefined);
    expect(model.error).toBe("Raiden Lab: no cluster named 'gone'");
    model.dispose();
  });
});
