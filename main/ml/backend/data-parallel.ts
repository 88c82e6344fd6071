// Synchronous data parallelism for backends that use one core per process (WASM under Node runs
// single-threaded, tfjs issue #3830). Each worker thread holds a full replica of the model on its
// own backend; a batch is split into one shard per replica, every replica computes its shard's
// gradients, the gradients are averaged through shared memory (weighted by shard size), and every
// replica applies the same average with its own optimizer, so the replicas stay identical.
//
// Worker threads rather than processes: each has its own WASM instance and tfjs engine, and the
// gradient exchange needs no serialisation. A replica is a worker entry module that calls
// serveReplica(factory) (data-parallel-replica.ts); it must be its own bundle entry
// (scripts/build-node.mjs `entries`).
import * as tf from '@tensorflow/tfjs-core'
import { Worker } from 'node:worker_threads'
import type { BackendChoice, BackendInfo } from './ladder'

/** One tensor of a shard, as plain data that can cross threads. */
export interface TensorData {
  data: Float32Array | Int32Array | Uint8Array
  shape: number[]
  dtype: 'float32' | 'int32' | 'bool'
}
export type Shard = Record<string, TensorData>

/** What a worker's model offers the coordinator. Variables must be in the same order everywhere. */
export interface Replica {
  trainable: tf.Variable[]
  /** Non-trained state (e.g. batch-norm moving statistics), averaged over replicas after each step. */
  state?: tf.Variable[]
  optimizer: tf.Optimizer
  /** Examples in a shard (the averaging weight); default: the first tensor's leading dimension. */
  shardSize?(shard: Record<string, tf.Tensor>): number
  loss(shard: Record<string, tf.Tensor>): tf.Scalar
  predict?(shard: Record<string, tf.Tensor>): Record<string, tf.Tensor>
}

export type ReplicaFactory = (init: unknown) => Replica | Promise<Replica>

export interface DataParallelOptions {
  /** Worker entry module (it calls serveReplica). */
  workerUrl: URL | string
  workers: number
  backend?: BackendChoice
  /** Passed to the replica factory in every worker (structured-clonable). */
  init?: unknown
}

/** @internal What DataParallel.start hands each worker (see data-parallel-replica.ts). */
export interface WorkerInit {
  cxrReplica: { init: unknown; backend: BackendChoice }
}

/** @internal Coordinator → replica messages. */
export type Request =
  | { type: 'buffers'; index: number; grads: SharedArrayBuffer[]; states: SharedArrayBuffer[] }
  | { type: 'publish' }
  | { type: 'adopt'; from: number }
  | { type: 'step'; shard: Shard }
  | { type: 'apply'; weights: number[] }
  | { type: 'predict'; shard: Shard }

/** A variable's place in the flat weight layout shared by all replicas. */
export interface VariableSlot {
  name: string
  shape: number[]
  trainable: boolean
}

export interface NamedWeights {
  name: string
  shape: number[]
  values: Float32Array
}

/** @internal Replica → coordinator messages. */
export type Reply =
  | { type: 'ready'; parameters: number; stateSize: number; variables: VariableSlot[]; backend: BackendInfo }
  | { type: 'done'; loss?: number; size?: number; outputs?: Record<string, TensorData> }
  | { type: 'error'; message: string }

export interface StepResult {
  /** Shard losses averaged with the same weights as the gradients. */
  loss: number
  examples: number
}

/** The coordinator: owns the worker threads and runs synchronous steps over them. */
export class DataParallel {
  private constructor(
    private readonly workers: Worker[],
    readonly backends: BackendInfo[],
    readonly parameters: number,
    /** Trainable variables then state variables, in replica order. */
    readonly variables: VariableSlot[],
    private readonly weightSlot: Float32Array,
    private readonly stateSlot: Float32Array
  ) {}

  static async start(options: DataParallelOptions): Promise<DataParallel> {
    if (!Number.isInteger(options.workers) || options.workers < 1)
      throw new Error(`workers must be ≥ 1, got ${options.workers}`)
    const init: WorkerInit = {
      cxrReplica: { init: options.init ?? null, backend: options.backend ?? 'wasm' }
    }
    const workers = Array.from(
      { length: options.workers },
      () => new Worker(options.workerUrl, { workerData: init })
    )
    try {
      const ready = await Promise.all(workers.map((worker) => nextReply(worker)))
      const first = ready[0] as Extract<Reply, { type: 'ready' }>
      for (const reply of ready) {
        if (reply.type !== 'ready') throw new Error(`replica failed to start: ${describe(reply)}`)
        if (reply.parameters !== first.parameters || reply.stateSize !== first.stateSize) {
          throw new Error('replicas disagree on the model: different parameter counts')
        }
      }
      const grads = workers.map(() => new SharedArrayBuffer(first.parameters * 4))
      const states = workers.map(() => new SharedArrayBuffer(Math.max(1, first.stateSize) * 4))
      const pool = new DataParallel(
        workers,
        ready.map((reply) => (reply as Extract<Reply, { type: 'ready' }>).backend),
        first.parameters,
        first.variables,
        new Float32Array(grads[0]!),
        new Float32Array(states[0]!)
      )
      await pool.all((index) => ({ type: 'buffers', index, grads, states }))
      // Replicas may start from different random weights: everyone adopts replica 0's.
      await pool.call(0, { type: 'publish' })
      await pool.all(() => ({ type: 'adopt', from: 0 }))
      return pool
    } catch (err) {
      await Promise.all(workers.map((worker) => worker.terminate()))
      throw err
    }
  }

  get size(): number {
    return this.workers.length
  }

  /** One synchronous step: shards[i] goes to replica i; all replicas end with the same weights. */
  async step(shards: Shard[]): Promise<StepResult> {
    if (shards.length !== this.workers.length)
      throw new Error(`expected ${this.workers.length} shards, got ${shards.length}`)
    const replies = await Promise.all(
      shards.map((shard, i) => this.call(i, { type: 'step', shard }, transferables(shard)))
    )
    const sizes = replies.map((reply) => reply.size ?? 0)
    const examples = sizes.reduce((a, b) => a + b, 0)
    const weights = sizes.map((size) => (examples > 0 ? size / examples : 1 / sizes.length))
    await this.all(() => ({ type: 'apply', weights }))
    const loss = replies.reduce((sum, reply, i) => sum + (reply.loss ?? 0) * weights[i]!, 0)
    return { loss, examples }
  }

  /** Runs each replica's predict on its shard; outputs come back in shard order. */
  async predict(shards: Shard[]): Promise<Array<Record<string, TensorData>>> {
    if (shards.length > this.workers.length)
      throw new Error(`at most ${this.workers.length} shards, got ${shards.length}`)
    const replies = await Promise.all(
      shards.map((shard, i) => this.call(i, { type: 'predict', shard }, transferables(shard)))
    )
    return replies.map((reply) => reply.outputs ?? {})
  }

  /** The current weights (replica 0's; all replicas are equal after a step), e.g. for a checkpoint. */
  async readWeights(): Promise<NamedWeights[]> {
    await this.call(0, { type: 'publish' })
    const weights: NamedWeights[] = []
    let trainableOffset = 0
    let stateOffset = 0
    for (const variable of this.variables) {
      const size = variable.shape.reduce((a, b) => a * b, 1)
      const values = variable.trainable
        ? this.weightSlot.slice(trainableOffset, (trainableOffset += size))
        : this.stateSlot.slice(stateOffset, (stateOffset += size))
      weights.push({ name: variable.name, shape: variable.shape, values })
    }
    return weights
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()))
  }

  private all(request: (index: number) => Request): Promise<Array<Extract<Reply, { type: 'done' }>>> {
    return Promise.all(this.workers.map((_, i) => this.call(i, request(i))))
  }

  private async call(
    index: number,
    request: Request,
    transfer: ArrayBuffer[] = []
  ): Promise<Extract<Reply, { type: 'done' }>> {
    const worker = this.workers[index]!
    const reply = nextReply(worker)
    worker.postMessage(request, transfer)
    const answer = await reply
    if (answer.type !== 'done') throw new Error(`replica ${index}: ${describe(answer)}`)
    return answer
  }
}

/** Splits every tensor of a batch along its first axis into `parts` shards (sizes differ by ≤ 1). */
export function splitBatch(batch: Shard, parts: number): Shard[] {
  const names = Object.keys(batch)
  const total = batch[names[0]!]!.shape[0]!
  const shards: Shard[] = []
  let start = 0
  for (let part = 0; part < parts; part++) {
    const count = Math.floor(total / parts) + (part < total % parts ? 1 : 0)
    const shard: Shard = {}
    for (const name of names) {
      const { data, shape, dtype } = batch[name]!
      if (shape[0] !== total) throw new Error(`'${name}' has ${shape[0]} rows, expected ${total}`)
      const row = data.length / total
      shard[name] = {
        data: data.slice(start * row, (start + count) * row),
        shape: [count, ...shape.slice(1)],
        dtype
      }
    }
    shards.push(shard)
    start += count
  }
  return shards
}

/** Reads a tensor into plain data (for shards and predictions). */
export function tensorData(tensor: tf.Tensor): TensorData {
  return {
    data: tensor.dataSync() as TensorData['data'],
    shape: [...tensor.shape],
    dtype: tensor.dtype as TensorData['dtype']
  }
}

function transferables(shard: Shard): ArrayBuffer[] {
  return Object.values(shard).map((t) => t.data.buffer as ArrayBuffer)
}

function nextReply(worker: Worker): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: Reply) => {
      cleanup()
      resolve(reply)
    }
    const onError = (err: Error) => {
      cleanup()
      reject(err)
    }
    const onExit = (code: number) => {
      cleanup()
      reject(new Error(`replica thread exited with code ${code}`))
    }
    const cleanup = () => {
      worker.off('message', onMessage)
      worker.off('error', onError)
      worker.off('exit', onExit)
    }
    worker.on('message', onMessage)
    worker.on('error', onError)
    worker.on('exit', onExit)
  })
}

function describe(reply: Reply): string {
  return reply.type === 'error' ? reply.message : `unexpected reply '${reply.type}'`
}
