import { describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { JobManager, runWorker, type JobEvent } from '../../main/core/jobs'
import { UserError } from '../../main/core/errors'

describe('JobManager', () => {
  it('reports progress, then the result, and marks the job succeeded', async () => {
    const jobs = new JobManager()
    const events: JobEvent[] = []
    jobs.onEvent((event) => events.push(event))
    const job = jobs.start('count', async (ctx) => {
      for (let done = 1; done <= 3; done++) ctx.onProgress({ stage: 'count', done, total: 3 })
      return 42
    })
    await expect(job.result).resolves.toBe(42)
    expect(events.filter((e) => e.type === 'progress').map((e) => e.job.progress?.done)).toEqual([1, 2, 3])
    expect(jobs.get(job.info.id)?.state).toBe('succeeded')
  })

  it('cancels a running job through its signal and records it as cancelled', async () => {
    const jobs = new JobManager()
    const job = jobs.start('wait', (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))))
    expect(jobs.cancel(job.info.id)).toBe(true)
    await expect(job.result).rejects.toThrow('stopped')
    expect(jobs.get(job.info.id)?.state).toBe('cancelled')
    expect(jobs.cancel(job.info.id)).toBe(false)
  })

  it('keeps the error message of a failed job', async () => {
    const jobs = new JobManager()
    const job = jobs.start('fail', async () => {
      throw new UserError('train/a.dcm: truncated file')
    })
    await expect(job.result).rejects.toThrow('truncated')
    expect(jobs.get(job.info.id)).toMatchObject({ state: 'failed', error: 'train/a.dcm: truncated file' })
  })
})

describe('runWorker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cxr-jobs-'))
  const script = join(dir, 'worker.cjs')
  writeFileSync(
    script,
    `process.on('message', (m) => {
      if (m.type === 'start' && m.params.fail) { process.send({ type: 'error', message: 'bad input', userError: true }); return }
      if (m.type === 'start' && m.params.hang) return
      if (m.type === 'cancel') { process.send({ type: 'result', result: 'stopped cleanly' }); return }
      if (m.type === 'start') {
        process.send({ type: 'progress', progress: { stage: 'x', done: 1, total: 2 } })
        process.send({ type: 'event', name: 'epoch', payload: { epoch: 1 } })
        process.send({ type: 'result', result: m.params.a + m.params.b })
      }
    })`
  )

  it('relays progress and events from a child process and resolves with its result', async () => {
    const progress: number[] = []
    const named: string[] = []
    const result = await runWorker<number>(script, { a: 2, b: 3 }, {
      signal: new AbortController().signal,
      onProgress: (p) => progress.push(p.done),
      onEvent: (name) => named.push(name)
    })
    expect(result).toBe(5)
    expect(progress).toEqual([1])
    expect(named).toEqual(['epoch'])
  })

  it('turns a worker user error into a UserError', async () => {
    const run = runWorker(script, { fail: true }, { signal: new AbortController().signal, onProgress: () => {} })
    await expect(run).rejects.toBeInstanceOf(UserError)
  })

  it('asks the worker to stop on cancel and resolves with what it sends back', async () => {
    const controller = new AbortController()
    const run = runWorker(script, { hang: true }, { signal: controller.signal, onProgress: () => {} })
    setTimeout(() => controller.abort(), 100)
    await expect(run).resolves.toBe('stopped cleanly')
  })
})
