import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { intervalFromSetting, lessonLabel, statusText } from './logic';
import { ICluster, ILesson } from './models';
import { RaidenPanel } from './panel';
import { requestAPI } from './request';

const PLUGIN_ID = 'raiden-lab:plugin';

// a stack of boards: the workshop tiles' icon (currentColor follows the theme)
const raidenIcon = new LabIcon({
  name: 'raiden-lab:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<rect x="3" y="3" width="18" height="4" rx="1"/><rect x="3" y="10" width="18" height="4" rx="1"/>' +
    '<rect x="3" y="17" width="18" height="4" rx="1"/></g>' +
    '<g fill="#2e7d32"><circle cx="6" cy="5" r="1"/><circle cx="6" cy="12" r="1"/><circle cx="6" cy="19" r="1"/></g></svg>'
});

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The Raiden cluster in the sidebar and the status bar; the workshop in the launcher.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker],
  optional: [IStatusBar, ICommandPalette, ILauncher, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    notebooks: INotebookTracker,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    settings: ISettingRegistry | null
  ) => {
    const status = new Widget();
    status.addClass('raiden-StatusItem');
    status.node.textContent = statusText(null);
    const insert = (code: string) => {
      const cell = notebooks.currentWidget?.content.activeCell;
      if (cell) {
        const text = cell.model.sharedModel.getSource();
        cell.model.sharedModel.setSource(text ? `${text}\n${code}` : code);
      }
    };
    const panel = new RaidenPanel({
      insertConnect: (name: string) =>
        insert(`import raiden_lab\ncluster = raiden_lab.connect(${JSON.stringify(name)})\ncluster`),
      onUpdate: (cluster: ICluster) => {
        status.node.textContent = statusText(cluster);
      }
    });
    panel.title.icon = raidenIcon;
    panel.title.caption = 'Raiden Lab';
    shell.add(panel, 'left', { rank: 600 });

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

    if (settings) {
      void Promise.all([settings.load(PLUGIN_ID), app.restored]).then(([loaded]) => {
        const apply = () => panel.setInterval(intervalFromSetting(loaded.get('refreshInterval').composite));
        apply();
        loaded.changed.connect(apply);
      }).catch(reason => console.error('raiden-lab: could not load its settings', reason));
    }

    // The workshop: a launcher tile per lesson copies it into raiden-workshop/ (once) and opens it.
    app.commands.addCommand('raiden-lab:open-lesson', {
      label: args => lessonLabel(args as unknown as ILesson),
      caption: args => `Copy lesson ${String(args.number)} into raiden-workshop/ and open it`,
      icon: raidenIcon,
      execute: async args => {
        const copied = await requestAPI<ILesson>(`lessons/${encodeURIComponent(String(args.file))}/copy`, {
          method: 'POST'
        });
        return app.commands.execute('docmanager:open', { path: copied.copy });
      }
    });
    if (launcher) {
      void requestAPI<ILesson[]>('lessons').then(lessons => {
        lessons.forEach((lesson, rank) => {
          launcher.add({
            command: 'raiden-lab:open-lesson',
            args: { ...lesson },
            category: 'Raiden workshop',
            rank
          });
        });
      }).catch(reason => console.error('raiden-lab: could not list the lessons', reason));
    }
  }
};

export default plugin;
