import { InvalidArgumentError, type Command } from 'commander'
import { workspaceOf } from '../context'
import { serve } from '../../host/run'

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'serve the CXR Studio UI to a browser (loopback only unless --host says otherwise; the printed URL carries an access token)'
    )
    .argument('[dir]', 'dataset folder to open first')
    .option('--port <n>', 'port (default: 8787, or the next free one)', parsePort)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(async (dir: string | undefined, opts: { port?: number; host: string }, cmd: Command) => {
      await serve({ workspace: workspaceOf(cmd), dir, host: opts.host, port: opts.port })
      await new Promise<never>(() => undefined) // serve until Ctrl+C
    })
}

export function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError('a port is an integer from 0 to 65535')
  return port
}
