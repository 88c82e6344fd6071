import { InvalidArgumentError, type Command } from 'commander'
import { DecodedCache, workspaceDecodedCacheConfig } from '../../core/dicom/decoded-cache/store'
import { settingsFile, updateWorkspaceSettings } from '../../core/settings'
import { printJson, workspaceOf } from '../context'

interface CacheOptions {
  clear?: boolean
  limit?: number
  json?: boolean
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3
}

/** `2GB`, `500MiB`, `1234567`, `0`: a byte count. */
export function byteSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(value.trim())
  const unit = UNITS[(match?.[2] ?? '').toLowerCase()]
  if (!match || unit === undefined) throw new InvalidArgumentError('expected a size such as 2GB, 500MB or 0')
  return Math.round(Number(match[1]) * unit)
}

export function registerCache(program: Command): void {
  program
    .command('cache')
    .description(
      "the workspace's decoded-pixel cache (images opened before read back instead of decoded): where it is, its size and bound"
    )
    .option(
      '--clear',
      'delete every cached image (safe while the app runs: they are decoded again when opened)'
    )
    .option(
      '--limit <size>',
      'set the bound kept in the workspace settings, e.g. 4GB; 0 turns the cache off',
      byteSize
    )
    .option('--json', 'print the summary as JSON')
    .action(async (options: CacheOptions, command: Command) => {
      const workspace = workspaceOf(command)
      if (options.limit !== undefined)
        await updateWorkspaceSettings(workspace, { decodedCacheBytes: options.limit })
      const config = await workspaceDecodedCacheConfig(workspace)
      const cache = new DecodedCache({ ...config, maxBytes: Math.max(1, config.maxBytes) })
      // turned off, its entries are dead weight: they go too
      const cleared = options.clear || config.maxBytes === 0 ? await cache.clear() : 0
      if (options.limit !== undefined && config.maxBytes > 0) await cache.trim()
      const entries = await cache.entries()
      const summary = {
        folder: config.dir,
        images: entries.length,
        bytes: entries.reduce((sum, entry) => sum + entry.bytes, 0),
        limitBytes: config.maxBytes,
        enabled: config.maxBytes > 0,
        settings: settingsFile(workspace),
        clearedBytes: cleared
      }
      if (options.json) return printJson(summary)
      const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`
      process.stdout.write(
        `${summary.folder}: ${summary.images} image(s), ${gb(summary.bytes)} of ${summary.enabled ? gb(summary.limitBytes) : '0 (off)'}` +
          `${cleared ? `; cleared ${gb(cleared)}` : ''} (bound: decodedCacheBytes in ${summary.settings})\n`
      )
    })
}
