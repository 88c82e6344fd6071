import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { commandLoaders, commandsFor } from '../main/cli/commands'

describe('CLI commands loaded on demand', () => {
  it('names each command as the command its module registers', async () => {
    for (const [name, load] of commandLoaders) {
      const program = new Command('cxr-studio')
      ;(await load())(program)
      expect(
        program.commands.map((command) => command.name()),
        name
      ).toEqual([name])
    }
  })

  it('loads only the named command, after root options and their values', async () => {
    const names = async (argv: string[]) => {
      const program = new Command('cxr-studio')
      for (const register of await commandsFor(argv)) register(program)
      return program.commands.map((command) => command.name())
    }
    expect(await names(['--workspace', 'index', 'decode', 'file.dcm', '--npy', 'x.npy'])).toEqual(['decode'])
    expect(await names(['--verbose', 'index', 'data'])).toEqual(['index'])
    const all = commandLoaders.map(([name]) => name)
    expect(await names(['--help'])).toEqual(all)
    expect(await names([])).toEqual(all)
    expect(await names(['indx', 'data'])).toEqual(all) // commander suggests the right name
  })
})
