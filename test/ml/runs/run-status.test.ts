// status.json: written whole, read back validated; a missing or foreign file reads as "no status".
import { writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RunStatusWriter, readRunStatus } from '../../../main/ml/runs/run-status'
import { tempDir } from '../helpers'

describe('run status', () => {
  it('a writer records this process, keeps its start and the epochs last written', async () => {
    const run = await tempDir('status')
    const startedAt = new Date('2024-05-01T10:00:00Z')
    const writer = new RunStatusWriter(run, startedAt, 3, { epochsPlanned: 10, timeLimitMinutes: null })
    await writer.write('running')
    expect(await readRunStatus(run)).toMatchObject({
      state: 'running',
      pid: process.pid,
      hostname: hostname(),
      startedAt: '2024-05-01T10:00:00.000Z',
      epochs: 3,
      epochsPlanned: 10,
      timeLimitMinutes: null,
      error: null
    })
    await writer.write('running', { epochs: 4 })
    await writer.write('failed', { error: 'dataset: no such folder' })
    const status = await readRunStatus(run)
    expect(status).toMatchObject({ state: 'failed', epochs: 4, error: 'dataset: no such folder' })
    expect(Date.parse(status!.updatedAt)).toBeGreaterThan(startedAt.getTime())
  })

  it('reads null when status.json is absent, not JSON, or not a status', async () => {
    const run = await tempDir('status')
    expect(await readRunStatus(run)).toBeNull()
    await writeFile(join(run, 'status.json'), '{"state": "running", "pid"')
    expect(await readRunStatus(run)).toBeNull()
    await writeFile(join(run, 'status.json'), JSON.stringify({ state: 'sleeping', pid: 1 }))
    expect(await readRunStatus(run)).toBeNull()
  })
})
