// Sums across the threads of one data-parallel training step. While a step runs on two threads
// (main/ml/train/gradient-helper.ts), every quantity that the whole batch defines - batch-norm
// channel sums, forward and backward, and the loss normalisers (positives, known study labels) - is
// summed over both threads' images, so the step equals one pass over the whole batch. Outside such a
// step there is no sum and every op sees only its own images. Both threads call it in the same order
// (they run the same network), which is what lets the two calls of one op meet.
/** The exchanges between the threads of one step; every thread gets identical results. */
export interface ReplicaSum {
  /** Element-wise sum of `values` over the threads. */
  sum(values: Float32Array): Float32Array
  /** Every thread's `values`, in thread order. */
  gather(values: Float32Array): Float32Array[]
}

let active: ReplicaSum | null = null

/** Runs `work` with `sum` as the sum over threads (synchronous work only). */
export function withReplicaSum<T>(sum: ReplicaSum, work: () => T): T {
  const prior = active
  active = sum
  try {
    return work()
  } finally {
    active = prior
  }
}

/** The sum over threads of the running step, or null when this thread trains alone. */
export function replicaSum(): ReplicaSum | null {
  return active
}

/** Counts and other loss normalisers summed over threads (as they are, alone). */
export function sumOverReplicas(values: number[]): number[] {
  return active ? Array.from(active.sum(Float32Array.from(values))) : values
}
