// The sum over the two threads of a data-parallel step (model/replica-sum.ts) through shared
// memory: each thread writes its values into its slot, marks its turn done and waits (Atomics.wait)
// until the other thread has done the same turn, then both read slot 0 and slot 1 (and add them in
// that order), so both get bit-identical results. Two sets of slots alternate between turns: a thread can be at most
// one turn ahead, so it never overwrites values the other is still reading. A batch-norm layer costs
// two turns per pass (statistics, backward), each tens of microseconds on two free cores.
import type { ReplicaSum } from '../model/replica-sum'

/** What both threads share (structured-clonable: SharedArrayBuffers and a number). */
export interface PairSumBuffers {
  /** Int32: each thread's last turn, the abort flag, each slot's length. */
  control: SharedArrayBuffer
  /** Float32: 2 sets x 2 threads x capacity. */
  values: SharedArrayBuffer
  capacity: number
}

const TURN = 0 // + thread
const ABORTED = 2
const LENGTH = 3 // + set * 2 + thread

/** Without a sign of life from the other thread for this long, a step fails instead of hanging. */
const STALL_MS = 120_000

export function pairSumBuffers(capacity: number): PairSumBuffers {
  return {
    control: new SharedArrayBuffer(7 * 4),
    values: new SharedArrayBuffer(4 * capacity * 4),
    capacity
  }
}

export class PairSum {
  private readonly control: Int32Array
  private readonly values: Float32Array
  private turn: number
  /** True once a wait here ended because the other thread had failed. */
  abortedByOther = false
  /** Turns taken and milliseconds spent waiting for the other thread (for profiles). */
  readonly stats = { turns: 0, waitMs: 0 }

  constructor(
    private readonly buffers: PairSumBuffers,
    private readonly thread: 0 | 1
  ) {
    this.control = new Int32Array(buffers.control)
    this.values = new Float32Array(buffers.values)
    this.turn = Atomics.load(this.control, TURN + thread)
  }

  /** The exchanges of replica-sum.ts over this pair. */
  readonly exchange: ReplicaSum = {
    sum: (mine) => {
      const [a, b] = this.gather(mine)
      const total = new Float32Array(mine.length)
      for (let i = 0; i < total.length; i++) total[i] = a[i] + b[i]
      return total
    },
    gather: (mine) => this.gather(mine)
  }

  /** Both threads' values (thread 0's first); throws when the other thread failed or stalled. */
  private gather(mine: Float32Array): [Float32Array, Float32Array] {
    const { capacity } = this.buffers
    if (mine.length > capacity) throw this.fail(`${mine.length} values exceed the exchange's ${capacity}`)
    const turn = ++this.turn
    const set = turn & 1
    const other = 1 - this.thread
    this.values.set(mine, this.slot(set, this.thread))
    Atomics.store(this.control, LENGTH + set * 2 + this.thread, mine.length)
    Atomics.store(this.control, TURN + this.thread, turn)
    Atomics.notify(this.control, TURN + this.thread)
    const waitStart = performance.now()
    this.await(other, turn)
    this.stats.turns++
    this.stats.waitMs += performance.now() - waitStart
    const theirLength = Atomics.load(this.control, LENGTH + set * 2 + other)
    if (theirLength !== mine.length)
      throw this.fail(`threads out of step: ${mine.length} values here, ${theirLength} in the other thread`)
    const a = this.slot(set, 0)
    const b = this.slot(set, 1)
    return [this.values.slice(a, a + mine.length), this.values.slice(b, b + mine.length)]
  }

  /** Stops the other thread's waits (this thread failed); the pair is unusable afterwards. */
  abort(): void {
    Atomics.store(this.control, ABORTED, 1)
    Atomics.notify(this.control, TURN)
    Atomics.notify(this.control, TURN + 1)
  }

  get aborted(): boolean {
    return Atomics.load(this.control, ABORTED) !== 0
  }

  private await(other: number, turn: number): void {
    let last = Date.now()
    for (;;) {
      if (this.aborted) {
        this.abortedByOther = true
        throw new Error('the other training thread failed during this step')
      }
      const seen = Atomics.load(this.control, TURN + other)
      if (seen >= turn) return
      if (Atomics.wait(this.control, TURN + other, seen, 1_000) !== 'timed-out') last = Date.now()
      else if (Date.now() - last > STALL_MS)
        throw this.fail(`the other training thread did not answer for ${STALL_MS / 1000} s`)
    }
  }

  private fail(message: string): Error {
    this.abort()
    return new Error(message)
  }

  private slot(set: number, thread: number): number {
    return (set * 2 + thread) * this.buffers.capacity
  }
}
