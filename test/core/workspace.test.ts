import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { datasetCacheDir, defaultWorkspace, resolveWorkspace } from '../../main/core/workspace'
import { writeFileAtomic } from '../../main/core/fs-atomic'

describe('workspace', () => {
  it('prefers --workspace, then CXR_STUDIO_WORKSPACE, then the OS app-data folder', () => {
    expect(resolveWorkspace('ws', { CXR_STUDIO_WORKSPACE: '/env/ws' })).toBe(resolve('ws'))
    expect(resolveWorkspace(undefined, { CXR_STUDIO_WORKSPACE: '/env/ws' })).toBe('/env/ws')
    expect(defaultWorkspace('linux', { XDG_CONFIG_HOME: '/home/u/.config' })).toBe('/home/u/.config/CXR Studio')
    expect(defaultWorkspace('win32', { APPDATA: 'C:/Users/u/AppData/Roaming' })).toContain('CXR Studio')
  })

  it('gives each dataset folder its own stable cache folder', () => {
    const a = datasetCacheDir('/ws', '/data/siim')
    expect(datasetCacheDir('/ws', '/data/siim/')).toBe(a)
    expect(datasetCacheDir('/ws', '/data/other')).not.toBe(a)
    expect(a.startsWith('/ws/datasets/')).toBe(true)
  })

  it('writes files atomically and leaves no temp file behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cxr-atomic-'))
    const target = join(dir, 'sub', 'index.json')
    try {
      await writeFileAtomic(target, 'first')
      await writeFileAtomic(target, 'second')
      expect(readFileSync(target, 'utf8')).toBe('second')
      expect(readdirSync(join(dir, 'sub'))).toEqual(['index.json'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
