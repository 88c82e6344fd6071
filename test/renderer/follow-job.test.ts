import { describe, expect, it } from 'vitest'
import type { JobEvent, JobHistory, JobInfo } from '../../common/contract'
import { JobFollower, type JobSource } from '../../renderer/src/training/follow-job'
import { logEvent } from './events'

const info: JobInfo = {
  jobId: 'j',
  kind: 'train',
  title: 'Training',
  state: 'running',
  progress: null,
  createdAt: 0,
  startedAt: 0,
  endedAt: null,
  error: null,
  result: null,
  meta: {}
}

/** A back end whose attach answers when the test says so, and whose events the test sends. */
function fakeSource() {
  const listeners = new Set<(event: JobEvent) => void>()
  const attaches: Array<(history: JobHistory) => void> = []
  const source: JobSource = {
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    attach: () => new Promise((resolve) => attaches.push(resolve))
  }
  return {
    source,
    send: (event: JobEvent) => listeners.forEach((listener) => listener(event)),
    answer: (events: JobEvent[]) => attaches.shift()!({ job: info, events }),
    pendingAttaches: () => attaches.length,
    listeners
  }
}
const flush = () => new Promise((resolve) => setTimeout(resolve, 0))
const seqs = (events: JobEvent[]) => events.map((event) => event.seq)

describe('JobFollower', () => {
  it('buffers live events while attaching and delivers history + live without repeats', async () => {
    const fake = fakeSource()
    const delivered: JobEvent[] = []
    const follower = new JobFollower(fake.source, 'j', { onEvents: (events) => delivered.push(...events) })
    const started = follower.start()
    fake.send(logEvent('j', 3, 'c'))
    fake.send(logEvent('j', 4, 'd'))
    fake.answer([logEvent('j', 1, 'a'), logEvent('j', 2, 'b'), logEvent('j', 3, 'c')])
    await started
    fake.send(logEvent('j', 5, 'e'))
    fake.send(logEvent('j', 5, 'e'))
    fake.send(logEvent('other', 6, 'x'))
    expect(seqs(delivered)).toEqual([1, 2, 3, 4, 5])
  })

  it('re-attaches when a live event skips a seq (the socket dropped) and fills the hole', async () => {
    const fake = fakeSource()
    const delivered: JobEvent[] = []
    const follower = new JobFollower(fake.source, 'j', { onEvents: (events) => delivered.push(...events) })
    const started = follower.start()
    fake.answer([logEvent('j', 1, 'a')])
    await started
    fake.send(logEvent('j', 4, 'd'))
    expect(fake.pendingAttaches()).toBe(1)
    fake.send(logEvent('j', 5, 'e'))
    fake.answer([logEvent('j', 1, 'a'), logEvent('j', 2, 'b'), logEvent('j', 3, 'c'), logEvent('j', 4, 'd')])
    await flush()
    expect(seqs(delivered)).toEqual([1, 2, 3, 4, 5])
  })

  it('asks again when the socket connected after the snapshot it was merged with', async () => {
    const fake = fakeSource()
    const delivered: JobEvent[] = []
    const follower = new JobFollower(fake.source, 'j', { onEvents: (events) => delivered.push(...events) })
    const started = follower.start()
    fake.send(logEvent('j', 5, 'e'))
    fake.answer([logEvent('j', 1, 'a'), logEvent('j', 2, 'b')])
    await flush()
    expect(fake.pendingAttaches()).toBe(1)
    fake.answer([logEvent('j', 1, 'a'), logEvent('j', 2, 'b'), logEvent('j', 3, 'c'), logEvent('j', 4, 'd')])
    await started
    expect(seqs(delivered)).toEqual([1, 2, 3, 4, 5])
  })

  it('stops listening when stopped', async () => {
    const fake = fakeSource()
    const follower = new JobFollower(fake.source, 'j', { onEvents: () => undefined })
    const started = follower.start()
    fake.answer([])
    await started
    follower.stop()
    expect(fake.listeners.size).toBe(0)
  })
})
