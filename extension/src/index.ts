import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { intervalFromSetting, lessonLabel, statusText } from './logic';
import { RaidenModel } from './model';
import { ILesson } from './models';
import { RaidenPanel } from './panel';
import { apiPath, requestAPI } from './request';
import { IRaidenModel } from './tokens';

// the settings (schema/plugin.json) belong to the model's plugin, whose id names them
const MODEL_PLUGIN_ID = 'raiden-lab:plugin';

// a stack of boards: the sidebar's and the workshop tiles' icon (currentColor follows the theme)
const raidenIcon = new LabIcon({
  name: 'raiden-lab:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<rect x="3" y="3" width="18" height="4" rx="1"/><rect x="3" y="10" width="18" height="4" rx="1"/>' +
    '<rect x="3" y="17" width="18" height="4" rx="1"/></g>' +
    '<g fill="#2e7d32"><circle cx="6" cy="5" r="1"/><circle cx="6" cy="12" r="1"/><circle cx="6" cy="19" r="1"/></g></svg>'
});

/** Code into the active notebook cell, after what it holds. */
function inserter(notebooks: INotebookTracker | null): (code: string) => void {
  return (code: string) => {
    const cell = notebooks?.currentWidget?.content.activeCell;
    if (cell) {
      const text = cell.model.sharedModel.getSource();
      cell.model.sharedModel.setSource(text ? `${text}\n${code}` : code);
    }
  };
}

function connectCode(name: string): string {
  // no name: a student's seat (raiden_lab.connect() asks the class named by RAIDEN_CLASS)
  return `import raiden_lab\ncluster = raiden_lab.connect(${name ? JSON.stringify(name) : ''})\ncluster`;
}

/** The model every other plugin shares: one poll of the server for the page, at the chosen interval. */
const modelPlugin: JupyterFrontEndPlugin<RaidenModel> = {
  id: MODEL_PLUGIN_ID,
  description: 'The Raiden cluster shown on this page, polled from the server.',
  autoStart: true,
  provides: IRaidenModel,
  optional: [ISettingRegistry],
  activate: (app: JupyterFrontEnd, settings: ISettingRegistry | null) => {
    const model = new RaidenModel({ serverSettings: app.serviceManager.serverSettings });
    void app.restored.then(() => model.refresh()); // the first answer now, not one interval later
    if (settings) {
      void Promise.all([settings.load(MODEL_PLUGIN_ID), app.restored])
        .then(([loaded]) => {
          const apply = () => model.setInterval(intervalFromSetting(loaded.get('refreshInterval').composite));
          apply();
          loaded.changed.connect(apply);
        })
        .catch(reason => console.error('raiden-lab: could not load its settings', reason));
    }
    return model;
  }
};

/** The sidebar: the cluster, Start and Stop, its nodes and events. */
const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'raiden-lab:sidebar',
  description: 'The Raiden cluster in the left sidebar.',
  autoStart: true,
  requires: [IRaidenModel],
  optional: [INotebookTracker],
  activate: (app: JupyterFrontEnd, model: RaidenModel, notebooks: INotebookTracker | null) => {
    const insert = inserter(notebooks);
    const panel = new RaidenPanel({ model, insertConnect: name => insert(connectCode(name)) });
    panel.title.icon = raidenIcon;
    panel.title.caption = 'Raiden Lab';
    app.shell.add(panel, 'left', { rank: 600 });
  }
};

/** The status bar item: engines alive and the hottest node. */
const statusBarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'raiden-lab:status-bar',
  description: 'Engines alive and the hottest node in the status bar.',
  autoStart: true,
  requires: [IRaidenModel, IStatusBar],
  activate: (app: JupyterFrontEnd, model: RaidenModel, statusBar: IStatusBar) => {
    const item = new Widget();
    item.addClass('raiden-StatusItem');
    const update = () => {
      item.node.textContent = statusText(model.cluster);
    };
    update();
    model.changed.connect(update);
    statusBar.registerStatusItem('raiden-lab:status', { item, align: 'left', rank: 10 });
  }
};

/** Commands (and the palette's entries) to start and stop the cluster and insert code that uses it. */
const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'raiden-lab:commands',
  description: 'Start, stop and connect to the Raiden cluster from the command palette.',
  autoStart: true,
  requires: [IRaidenModel],
  optional: [ICommandPalette, INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    model: RaidenModel,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null
  ) => {
    const insert = inserter(notebooks);
    const name = () => model.cluster?.name ?? 'local';
    const commands: Array<[string, string, () => void]> = [
      ['raiden-lab:start', 'Raiden: Start the Cluster', () => void model.command('start')],
      ['raiden-lab:stop', 'Raiden: Stop the Cluster', () => void model.command('stop')],
      ['raiden-lab:insert-connect', 'Raiden: Insert Connect Code', () => insert(connectCode(name()))],
      [
        'raiden-lab:open-dashboard',
        'Raiden: Insert the Dashboard',
        () => insert(`import raiden_lab\nraiden_lab.dashboard(${JSON.stringify(name())})`)
      ]
    ];
    for (const [id, label, execute] of commands) {
      app.commands.addCommand(id, { label, execute });
      palette?.addItem({ command: id, category: 'Raiden Lab' });
    }
  }
};

/** The workshop: a launcher tile per lesson copies it into raiden-workshop/ (once) and opens it. */
const workshopPlugin: JupyterFrontEndPlugin<void> = {
  id: 'raiden-lab:workshop',
  description: "The workshop's lessons as launcher tiles.",
  autoStart: true,
  optional: [ILauncher],
  activate: (app: JupyterFrontEnd, launcher: ILauncher | null) => {
    const serverSettings = app.serviceManager.serverSettings;
    app.commands.addCommand('raiden-lab:open-lesson', {
      label: args => lessonLabel(args as unknown as ILesson),
      caption: args => `Copy lesson ${String(args.number)} into raiden-workshop/ and open it`,
      icon: raidenIcon,
      execute: async args => {
        const copied = await requestAPI<ILesson>(
          apiPath('lessons', String(args.file), 'copy'),
          { method: 'POST' },
          serverSettings
        );
        return app.commands.execute('docmanager:open', { path: copied.copy });
      }
    });
    if (launcher) {
      void requestAPI<ILesson[]>('lessons', {}, serverSettings)
        .then(lessons => {
          lessons.forEach((lesson, rank) => {
            launcher.add({ command: 'raiden-lab:open-lesson', args: { ...lesson }, category: 'Raiden workshop', rank });
          });
        })
        .catch(reason => console.error('raiden-lab: could not list the lessons', reason));
    }
  }
};

export default [modelPlugin, sidebarPlugin, statusBarPlugin, commandsPlugin, workshopPlugin];
