import type { Command } from 'commander'
import { registerStart } from './start'

/** Every `cxr-studio` command, registered on the root program in this order (shown in --help). */
export const commands: Array<(program: Command) => void> = [registerStart]
