import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import { ICluster } from './models';
import { RaidenPanel } from './panel';

function hottest(cluster: ICluster): string {
  let best: [string, number] | null = null;
  for (const node of cluster.nodes) {
    const t = node.sample?.temperature;
    if (t !== null && t !== undefined && (best === null || t > best[1])) {
      best = [node.host, t];
    }
  }
  return best ? ` · hottest ${best[0]} ${best[1].toFixed(0)} °C` : '';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'raiden-lab:plugin',
  description: 'The Raiden cluster in the sidebar and the status bar.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker],
  optional: [IStatusBar, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    notebooks: INotebookTracker,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null
  ) => {
    const status = new Widget();
    status.addClass('raiden-StatusItem');
    status.node.textContent = 'Raiden: –';
    const panel = new RaidenPanel({
      insertConnect: (name: string) => {
        const notebook = notebooks.currentWidget?.content;
        const cell = notebook?.activeCell;
        if (!notebook || !cell) {
          return;
        }
        const code = `import raiden_lab\ncluster = raiden_lab.connect(${JSON.stringify(name)})\ncluster`;
        const text = cell.model.sharedModel.getSource();
        cell.model.sharedModel.setSource(text ? `${text}\n${code}` : code);
      },
      onUpdate: (cluster: ICluster) => {
        status.node.textContent = `Raiden: ${cluster.engines.alive}/${cluster.engines.total} engines${hottest(cluster)}`;
      }
    });
    panel.title.label = 'Raiden';
    shell.add(panel, 'left', { rank: 600 });
    const insert = (code: string) => {
      const cell = notebooks.currentWidget?.content.activeCell;
      if (cell) {
        const text = cell.model.sharedModel.getSource();
        cell.model.sharedModel.setSource(text ? `${text}\n${code}` : code);
      }
    };
    const commands: Array<[string, string, () => void]> = [
      ['raiden-lab:start', 'Raiden: Start the Cluster', () => void panel.command('start')],
      ['raiden-lab:stop', 'Raiden: Stop the Cluster', () => void panel.command('stop')],
      ['raiden-lab:insert-connect', 'Raiden: Insert Connect Code', () => panel.insertConnect()],
      ['raiden-lab:open-dashboard', 'Raiden: Insert the Dashboard', () =>
        insert(`import raiden_lab\nraiden_lab.dashboard(${JSON.stringify(panel.cluster?.name ?? 'local')})`)]
    ];
    for (const [id, label, execute] of commands) {
      app.commands.addCommand(id, { label, execute });
      palette?.addItem({ command: id, category: 'Raiden Lab' });
    }
    if (statusBar) {
      statusBar.registerStatusItem('raiden-lab:status', { item: status, align: 'left', rank: 10 });
    }
  }
};

export default plugin;
