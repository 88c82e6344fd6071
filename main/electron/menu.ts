// The application menu. Items that change what the page shows are sent to the renderer as
// `menuCommand` events; the viewer's single-key shortcuts stay in the page (they must not fire
// while typing in a field), and Help lists them.
import { Menu, type MenuItemConstructorOptions } from 'electron'
import type { MenuCommand, RecentDataset } from '../../common/contract'

export interface MenuActions {
  openFolder(): void
  command(command: MenuCommand): void
  devTools: boolean
}

export function buildMenu(recent: RecentDataset[], actions: MenuActions): Menu {
  const go = (command: MenuCommand['command']) => () => actions.command({ command })
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'Open Folder…', accelerator: 'CmdOrCtrl+O', click: () => actions.openFolder() },
        {
          label: 'Open Recent',
          submenu: recent.length
            ? recent.map((item) => ({
                label: `${item.name} — ${item.root}`,
                click: () => actions.command({ command: 'open-folder', path: item.root })
              }))
            : [{ label: 'No recent datasets', enabled: false }]
        },
        { label: 'Try the Demo Dataset', click: go('open-demo') },
        { label: 'Connect to PACS…', click: go('go-pacs') },
        { type: 'separator' },
        { role: 'quit' }
      ]
    },
    // Copy/paste in the path and search fields needs the edit roles (macOS has no default).
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { label: 'Home', accelerator: 'CmdOrCtrl+Shift+H', click: go('go-home') },
        { label: 'Studies', accelerator: 'CmdOrCtrl+1', click: go('go-studies') },
        { label: 'Data', accelerator: 'CmdOrCtrl+2', click: go('go-data') },
        { label: 'Train', accelerator: 'CmdOrCtrl+3', click: go('go-train') },
        { label: 'Runs', accelerator: 'CmdOrCtrl+4', click: go('go-runs') },
        { label: 'Predictions', accelerator: 'CmdOrCtrl+5', click: go('go-predictions') },
        { label: 'Export', accelerator: 'CmdOrCtrl+6', click: go('go-export') },
        { label: 'PACS', accelerator: 'CmdOrCtrl+7', click: go('go-pacs') },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(actions.devTools
          ? ([{ role: 'reload' }, { role: 'toggleDevTools' }] as MenuItemConstructorOptions[])
          : [])
      ]
    },
    {
      label: 'Help',
      submenu: [{ label: 'Keyboard Shortcuts', accelerator: 'F1', click: go('show-shortcuts') }]
    }
  ]
  return Menu.buildFromTemplate(template)
}
