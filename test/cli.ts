// Running the built `cxr-studio` from tests, as a user runs it (`npm run build:node` first; npm test does).
import { execFile, spawnSync } from 'node:child_process'
import { join } from 'node:path'

export const CLI = join(__dirname, '..', 'bin', 'cxr-studio.mjs')

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** `cxr-studio ARGS`: its exit code and outputs; never throws. */
export function runCli(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

/** `cxr-studio ARGS`'s stdout; a failure throws with its exit code and stderr. */
export function cliOutput(args: readonly string[]): string {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024
  })
  if (result.status !== 0)
    throw new Error(`cxr-studio ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  return result.stdout
}
