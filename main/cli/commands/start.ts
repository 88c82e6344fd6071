import type { Command } from 'commander'
import { UserError } from '../../core/errors'

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('open the desktop app (or the web host where Electron cannot run)')
    .action(() => {
      throw new UserError(
        'the desktop window and the web host are not built yet (they come with the viewer); use the CLI commands listed by `cxr-studio --help`'
      )
    })
}
