// Opening the workspace clears what killed processes left in it (DESIGN rule 6: a workspace is a
// folder of files): temps of interrupted atomic writes, checkpoint temp folders and the demo's
// half-generated folder, at the depths the workspace has them. Temps a live process holds stay.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createBackend, type Backend } from '../../main/backend/index'

let workspace: string
let backend: Backend | null = null
beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), 'cxr-stale-ws-'))
})
afterAll(async () => {
  await backend?.close()
  rmSync(workspace, { recursive: true, force: true })
})

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8'
  })
  return Number(child.stdout)
}

function plant(path: string, folder = false): string {
  mkdirSync(folder ? path : dirname(path), { recursive: true })
  if (!folder) writeFileSync(path, 'partial')
  return path
}

describe('the back end opening a workspace', () => {
  it('removes the stale temps of dead processes and keeps those of live ones and every other file', async () => {
    const dead = deadPid()
    const tmp = (name: string) => `.${name}.${dead}-0123456789ab.tmp`
    const stale = [
      plant(join(workspace, 'datasets', 'a1b2', tmp('index.json'))),
      plant(join(workspace, 'datasets', 'a1b2', 'thumbnails', '256', tmp('0f0f.gray'))),
      plant(join(workspace, 'runs', 'tiny', 'checkpoints', tmp('last')), true),
      plant(join(workspace, 'exports', 'coco', 'images', 'train', tmp('abc.png'))),
      plant(join(workspace, tmp('recent-datasets.json'))),
      plant(join(workspace, '.demo-dataset-0123abcd'), true)
    ]
    const longAgo = new Date(Date.now() - 3600_000)
    utimesSync(stale[5], longAgo, longAgo)
    const sleeper = spawn('sleep', ['30'])
    try {
      const kept = [
        plant(join(workspace, 'datasets', 'a1b2', `.index.json.${sleeper.pid}-0123456789ab.tmp`)),
        plant(join(workspace, 'exports', 'notes.tmp')),
        plant(join(workspace, 'runs', 'tiny', 'results.csv'))
      ]
      backend = createBackend({ workspace, host: 'web', logError: () => undefined })
      await vi.waitFor(() => expect(stale.filter((path) => existsSync(path))).toEqual([]), {
        timeout: 10_000,
        interval: 50
      })
      expect(kept.filter((path) => existsSync(path))).toEqual(kept)
    } finally {
      sleeper.kill()
    }
  })
})
