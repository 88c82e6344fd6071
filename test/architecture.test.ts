// The layering of DESIGN.md, checked on every import of the sources: nothing imports upward,
// `electron` only in main/electron and preload, the renderer and preload see only common/.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(__dirname, '..')

/** Lowest first: a file may import its own layer and the ones below it. */
const LAYERS = [
  'common',
  'main/core',
  'main/ml',
  'main/workers',
  'main/backend',
  'main/cli|main/host|main/electron'
]

function layerOf(file: string): number {
  return LAYERS.findIndex((layer) => layer.split('|').some((dir) => file === dir || file.startsWith(`${dir}/`)))
}

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`
    if (entry.isDirectory()) return sources(path)
    return /\.(ts|vue)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** Every module specifier a file imports (static, dynamic and type-only). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  const specifiers: string[] = []
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm))
    specifiers.push(match[1])
  return specifiers
}

const resolveLocal = (file: string, specifier: string) => relative(root, resolve(root, dirname(file), specifier))

const allFiles = ['common', 'main', 'preload', 'renderer/src'].flatMap(sources)

describe('architecture', () => {
  it('finds the sources it checks', () => {
    expect(allFiles.length).toBeGreaterThan(200)
  })

  it('nothing imports upward (common ← core ← ml ← workers ← backend ← cli/host/electron)', () => {
    const upward: string[] = []
    for (const file of allFiles.filter((f) => f.startsWith('main/') || f.startsWith('common/'))) {
      const own = layerOf(file)
      for (const specifier of importsOf(file).filter((s) => s.startsWith('.'))) {
        const target = resolveLocal(file, specifier)
        if (target === 'package.json') continue
        const layer = layerOf(target)
        if (layer > own) upward.push(`${file} imports ${target}`)
        // adapters stay apart; only the CLI's `serve` and `start` commands start the web host
        const adapter = (f: string) => /^main\/(cli|host|electron)\//.exec(f)?.[1]
        const [from, to] = [adapter(file), adapter(target)]
        if (from && to && from !== to && !(from === 'cli' && to === 'host'))
          upward.push(`${file} imports another adapter: ${target}`)
      }
    }
    expect(upward).toEqual([])
  })

  it('imports electron only in main/electron and preload', () => {
    const offenders = allFiles.filter(
      (file) =>
        !file.startsWith('main/electron/') &&
        !file.startsWith('preload/') &&
        importsOf(file).some((s) => s === 'electron' || s.startsWith('electron/'))
    )
    expect(offenders).toEqual([])
  })

  it('keeps the renderer, the preload and common/ away from Node and the back end', () => {
    const offenders: string[] = []
    for (const file of allFiles.filter((f) => /^(renderer|preload|common)\//.test(f))) {
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith('node:')) offenders.push(`${file} imports ${specifier}`)
        if (specifier.startsWith('.')) {
          const target = resolveLocal(file, specifier)
          if (!/^(common|renderer|preload)\//.test(target) || (!file.startsWith('renderer/') && target.startsWith('renderer/')))
            offenders.push(`${file} imports ${target}`)
          if (file.startsWith('renderer/') && target.startsWith('preload/')) offenders.push(`${file} imports ${target}`)
        }
      }
    }
    expect(offenders).toEqual([])
  })
})
