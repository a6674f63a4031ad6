import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** A path under /raiden-lab/ with every part encoded (cluster and host names travel in URLs). */
export function apiPath(...parts: string[]): string {
  return parts.map(part => encodeURIComponent(part)).join('/');
}

/**
 * Call the Raiden Lab server extension; every URL is built here.
 * Expected failures come back as a 4xx whose JSON body holds the sentence in `message`;
 * they are thrown as a ServerConnection.ResponseError carrying that sentence.
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(serverSettings.baseUrl, 'raiden-lab', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, serverSettings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      console.error('raiden-lab: not a JSON response', response);
    }
  }
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response, data?.message || text || `HTTP ${response.status}`);
  }
  return data as T;
}
