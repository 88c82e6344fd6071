import { Command, CommanderError } from 'commander'
import { UserError } from '../core/errors'
import { commandsFor } from './commands'

/**
 * `cxr-studio`: every feature of the app as a command over the same core services.
 * Exit codes: 0 success, 1 a user error (one line; stack with --verbose), 2 bad usage.
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('cxr-studio')
    .description('CXR Studio: chest-radiograph DICOM datasets, labels, COCO export, metric and submissions')
    .option(
      '--workspace <dir>',
      'workspace folder for caches, runs and exports (default: $CXR_STUDIO_WORKSPACE or the OS app-data folder)'
    )
    .option('--verbose', 'print stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  for (const register of await commandsFor(argv)) register(program)

  try {
    await program.parseAsync(argv, { from: 'user' })
    return 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed by commander
      return err.exitCode === 0 ? 0 : 2
    }
    const message = err instanceof Error ? err.message : String(err)
    if (argv.includes('--verbose') && err instanceof Error) process.stderr.write(`${err.stack}\n`)
    else if (err instanceof UserError) process.stderr.write(`cxr-studio: ${message}\n`)
    else process.stderr.write(`cxr-studio: internal error: ${message} (run with --verbose for the stack)\n`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
