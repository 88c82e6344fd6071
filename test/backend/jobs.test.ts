// The job service: states, queue, cancel, worker processes (relayed events, clean cancel, crashes),
// and the bounded event history a page re-attaching to a job gets.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { JobEvent, JobInfo, StepEvent } from '../../common/contract'
import { UserError } from '../../main/core/errors'
import { EventHistory } from '../../main/backend/jobs/history'
import { JobService } from '../../main/backend/jobs/job-service'
import { nodeLauncher } from '../../main/backend/jobs/launcher'
import { portLauncher, type RelayReply, type RelayRequest } from '../../main/backend/jobs/port-launcher'
import { runInWorker } from '../../main/backend/jobs/run-in-worker'

const quiet = { logError: () => undefined }

function step(globalStep: number): StepEvent {
  return {
    epoch: 1,
    epochs: 1,
    step: globalStep,
    stepsPerEpoch: 100_000,
    globalStep,
    loss: { total: 1 / globalStep },
    lr: 0.01,
    gradNorm: 1,
    imagesPerSecond: 8,
    etaSeconds: 10,
    elapsedSeconds: globalStep
  }
}

function follow(jobs: JobService) {
  const updates: JobInfo[] = []
  const events: JobEvent[] = []
  jobs.onJob((job) => updates.push(job))
  jobs.onEvent((event) => events.push(event))
  return { updates, events }
}

describe('JobService (in-process work)', () => {
  it('goes running → done with progress and the result, and ends its history with `end`', async () => {
    const jobs = new JobService({ ...quiet, progressIntervalMs: 0 })
    const { updates, events } = follow(jobs)
    const job = jobs.start({ kind: 'quality', title: 'count' }, async (ctx) => {
      for (let done = 1; done <= 3; done++) ctx.onProgress({ stage: 'count', done, total: 3 })
      return 42
    })
    await expect(job.result).resolves.toBe(42)
    expect(updates.map((u) => u.state)).toEqual(['running', 'running', 'running', 'running', 'done'])
    expect(updates.filter((u) => u.progress).map((u) => u.progress!.done)).toEqual([1, 2, 3, 3])
    expect(jobs.get(job.jobId)).toMatchObject({ state: 'done', result: 42, error: null })
    expect(events.map((e) => e.name)).toEqual(['end'])
    expect(jobs.attach(job.jobId).events.at(-1)).toMatchObject({ name: 'end', payload: { state: 'done' } })
  })

  it('sends at most one progress update per interval, and always the last one', async () => {
    const jobs = new JobService({ ...quiet, progressIntervalMs: 60_000 })
    const { updates } = follow(jobs)
    const job = jobs.start({ kind: 'quality', title: 'burst' }, async (ctx) => {
      for (let done = 1; done <= 1000; done++) ctx.onProgress({ stage: 'check', done, total: 1000 })
    })
    await job.result
    const progress = updates.filter((u) => u.state === 'running' && u.progress).map((u) => u.progress!.done)
    expect(progress.length).toBeLessThanOrEqual(2)
    expect(progress.at(-1)).toBe(1000)
  })

  it('keeps the message of a failed job, naming the file and the reason', async () => {
    const jobs = new JobService(quiet)
    const job = jobs.start({ kind: 'open-dataset', title: 'fail' }, async () => {
      throw new UserError('train/a.dcm: truncated file')
    })
    await expect(job.result).rejects.toThrow('truncated')
    expect(jobs.get(job.jobId)).toMatchObject({ state: 'failed', error: 'train/a.dcm: truncated file' })
  })

  it('cancels a running job through its signal and records it as cancelled', async () => {
    const jobs = new JobService(quiet)
    const job = jobs.start(
      { kind: 'quality', title: 'wait' },
      (ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped'))))
    )
    expect(jobs.cancel(job.jobId)).toBe(true)
    await expect(job.result).rejects.toThrow('cancelled')
    expect(jobs.get(job.jobId)?.state).toBe('cancelled')
    expect(jobs.cancel(job.jobId)).toBe(false)
  })

  it('runs the jobs of one queue one at a time, in order; a queued job can be cancelled', async () => {
    const jobs = new JobService(quiet)
    const order: string[] = []
    let release!: () => void
    const first = jobs.start({ kind: 'train', title: 'first', queue: 'ml' }, async () => {
      order.push('first started')
      await new Promise<void>((resolve) => (release = resolve))
      order.push('first ended')
    })
    const second = jobs.start({ kind: 'train', title: 'second', queue: 'ml' }, async () => {
      order.push('second started')
    })
    const third = jobs.start({ kind: 'train', title: 'third', queue: 'ml' }, async () => {
      order.push('third started')
    })
    expect(jobs.get(first.jobId)?.state).toBe('running')
    expect(jobs.get(second.jobId)?.state).toBe('queued')
    expect(jobs.cancel(third.jobId)).toBe(true)
    await expect(third.result).rejects.toThrow('cancelled')
    expect(jobs.get(third.jobId)?.state).toBe('cancelled')
    release()
    await Promise.all([first.result, second.result])
    expect(order).toEqual(['first started', 'first ended', 'second started'])
  })

  it('drops (and logs) an event that breaks the contract instead of passing it on', async () => {
    const logged: string[] = []
    const jobs = new JobService({ logError: (m) => logged.push(m) })
    const { events } = follow(jobs)
    const job = jobs.start({ kind: 'train', title: 'bad event' }, async (ctx) => {
      ctx.emit('step', { epoch: 'one' })
      ctx.emit('log', { line: 'fine' })
    })
    await job.result
    expect(events.map((e) => e.name)).toEqual(['log', 'end'])
    expect(events.map((e) => e.seq)).toEqual([1, 2])
    expect(logged.join('\n')).toMatch(/dropped its 'step' event/)
  })

  it('lets a page re-attach: the kept events in order, steps thinned, every epoch, the latest samples', async () => {
    const jobs = new JobService(quiet)
    const job = jobs.start({ kind: 'train', title: 'long' }, async (ctx) => {
      for (let s = 1; s <= 10_000; s++) ctx.emit('step', step(s))
      ctx.emit('log', { line: 'done' })
    })
    await job.result
    const { events } = jobs.attach(job.jobId)
    const steps = events.filter((e) => e.name === 'step')
    expect(steps.length).toBeGreaterThan(1000)
    expect(steps.length).toBeLessThanOrEqual(2001)
    const stepNumbers = steps.map((e) => (e.payload as StepEvent).globalStep)
    expect(stepNumbers[0]).toBe(1)
    expect(stepNumbers.at(-1)).toBe(10_000)
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b))
    expect(() => jobs.attach('no-such-job')).toThrow(UserError)
  })
})

describe('EventHistory', () => {
  const event = (seq: number, name: JobEvent['name'], payload: unknown = {}) =>
    ({ jobId: 'j', seq, at: seq, name, payload }) as JobEvent

  it('keeps only the newest of `last` lanes and the newest N of `recent` lanes', () => {
    const history = new EventHistory()
    for (let i = 1; i <= 5; i++) history.add(event(i, 'samples'))
    for (let i = 6; i <= 505; i++) history.add(event(i, 'log', { line: String(i) }))
    const kept = history.events()
    expect(kept.filter((e) => e.name === 'samples').map((e) => e.seq)).toEqual([5])
    const logs = kept.filter((e) => e.name === 'log')
    expect(logs).toHaveLength(300)
    expect(logs[0].seq).toBe(206)
  })
})

describe('worker processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cxr-jobs-'))
  const script = join(dir, 'worker.cjs')
  writeFileSync(
    script,
    `process.on('message', (m) => {
      if (m.type === 'start' && m.params.fail) { process.send({ type: 'error', message: 'bad input', userError: true }); return }
      if (m.type === 'start' && m.params.crash) { console.error('Error: train/x.dcm: out of memory'); process.exit(3) }
      if (m.type === 'start' && m.params.hang) return
      if (m.type === 'cancel') { process.send({ type: 'result', result: 'stopped cleanly' }); return }
      if (m.type === 'start') {
        process.send({ type: 'progress', progress: { stage: 'x', done: 1, total: 2 } })
        process.send({ type: 'event', name: 'log', payload: { line: 'hello' } })
        process.send({ type: 'result', result: m.params.a + m.params.b })
      }
    })`
  )
  const inWorker = (jobs: JobService, params: unknown) =>
    jobs.start({ kind: 'train', title: 'worker' }, (ctx) =>
      runInWorker<unknown>(nodeLauncher, script, params, ctx, 5_000)
    )

  it('relays progress and events from a child process and resolves with its result', async () => {
    const jobs = new JobService({ ...quiet, progressIntervalMs: 0 })
    const { updates, events } = follow(jobs)
    const job = inWorker(jobs, { a: 2, b: 3 })
    await expect(job.result).resolves.toBe(5)
    expect(updates.some((u) => u.progress?.done === 1)).toBe(true)
    expect(events.map((e) => e.name)).toEqual(['log', 'end'])
  })

  it('turns a worker user error into a UserError and a failed job', async () => {
    const jobs = new JobService(quiet)
    const job = inWorker(jobs, { fail: true })
    await expect(job.result).rejects.toBeInstanceOf(UserError)
    expect(jobs.get(job.jobId)).toMatchObject({ state: 'failed', error: 'bad input' })
  })

  it('ends the job as failed with the exit code and the error line when the worker dies', async () => {
    const jobs = new JobService(quiet)
    const job = inWorker(jobs, { crash: true })
    await expect(job.result).rejects.toThrow(
      /exited with code 3 before it finished: Error: train\/x.dcm: out of memory/
    )
    expect(jobs.get(job.jobId)?.state).toBe('failed')
  })

  it('says the worker was killed when it is', async () => {
    const jobs = new JobService(quiet)
    const job = inWorker(jobs, { hang: true })
    await new Promise((resolve) => setTimeout(resolve, 300))
    // the job's process is this test process's newest child
    const child = execFileSync('pgrep', ['-n', '-P', String(process.pid), '-f', script])
      .toString()
      .trim()
    process.kill(Number(child), 'SIGKILL')
    await expect(job.result).rejects.toThrow(/was killed \(SIGKILL\) before it finished/)
    expect(jobs.get(job.jobId)).toMatchObject({ state: 'failed' })
  })

  it('asks the worker to stop on cancel and ends the job as cancelled with what it sent back', async () => {
    const jobs = new JobService(quiet)
    const job = inWorker(jobs, { hang: true })
    setTimeout(() => jobs.cancel(job.jobId), 200)
    await expect(job.result).resolves.toBe('stopped cleanly')
    expect(jobs.get(job.jobId)).toMatchObject({ state: 'cancelled', result: 'stopped cleanly' })
  })

  it('reaches a worker through the Electron relay port (launch, messages both ways, exit)', async () => {
    // main's side, simulated with Node child processes behind the relay protocol
    let reply!: (r: RelayReply) => void
    const children = new Map<number, ReturnType<typeof nodeLauncher.launch>>()
    const requests: RelayRequest['type'][] = []
    const launcher = portLauncher({
      onReply: (listener) => (reply = listener),
      post: (request) => {
        requests.push(request.type)
        if (request.type === 'worker-launch') {
          const child = nodeLauncher.launch(request.script)
          children.set(request.workerId, child)
          child.onMessage((message) => reply({ type: 'worker-message', workerId: request.workerId, message }))
          child.onExit((exit) => reply({ type: 'worker-exit', workerId: request.workerId, exit }))
        } else if (request.type === 'worker-send') children.get(request.workerId)?.send(request.message)
        else children.get(request.workerId)?.kill()
      }
    })
    const jobs = new JobService(quiet)
    const job = jobs.start({ kind: 'train', title: 'relayed' }, (ctx) =>
      runInWorker<number>(launcher, script, { a: 20, b: 22 }, ctx, 5_000)
    )
    await expect(job.result).resolves.toBe(42)
    expect(requests.slice(0, 2)).toEqual(['worker-launch', 'worker-send'])
    expect(jobs.attach(job.jobId).events.map((e) => e.name)).toEqual(['log', 'end'])
  })
})
