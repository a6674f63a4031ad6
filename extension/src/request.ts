import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * Call the Raiden Lab server extension; every URL is built here.
 * Expected failures come back as a 4xx with a sentence, thrown as an Error with that sentence.
 */
export async function requestAPI<T>(path = '', init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'raiden-lab', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  if (!response.ok) {
    throw new Error(response.statusText || text || `HTTP ${response.status}`);
  }
  return (text ? JSON.parse(text) : null) as T;
}
