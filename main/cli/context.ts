import type { Command } from 'commander'
import { resolveWorkspace } from '../core/workspace'

/** Options every command shares (declared once on the root program). */
export interface GlobalOptions {
  workspace?: string
  verbose?: boolean
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions
}

export function workspaceOf(command: Command): string {
  return resolveWorkspace(globalOptions(command).workspace)
}

/** `--json` prints exactly one JSON document on stdout and nothing else. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}
