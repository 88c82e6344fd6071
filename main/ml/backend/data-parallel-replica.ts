// The replica side of data-parallel.ts: runs in a worker thread, holds one copy of the model,
// computes its shard's gradients into shared memory and applies the averaged ones.
import * as tf from '@tensorflow/tfjs-core'
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import { errorMessage } from '../../core/errors'
import {
  tensorData,
  type Replica,
  type ReplicaFactory,
  type Reply,
  type Request,
  type Shard,
  type TensorData,
  type VariableSlot,
  type WorkerInit
} from './data-parallel'
import { initBackend } from './ladder'

/** Call once in a worker entry module: builds the replica and answers the coordinator. */
export function serveReplica(factory: ReplicaFactory): void {
  const port = parentPort
  const init = (workerData as WorkerInit | null)?.cxrReplica
  if (isMainThread || !port || !init)
    throw new Error('serveReplica must run in a worker started by DataParallel.start')
  void (async () => {
    try {
      const backend = await initBackend(init.backend)
      const replica = await factory(init.init)
      const served = new ServedReplica(replica)
      port.on('message', (request: Request) => {
        try {
          port.postMessage(served.handle(request))
        } catch (err) {
          port.postMessage({ type: 'error', message: errorMessage(err) } satisfies Reply)
        }
      })
      const variables: VariableSlot[] = [
        ...replica.trainable.map((v) => ({ name: v.name, shape: [...v.shape], trainable: true })),
        ...(replica.state ?? []).map((v) => ({ name: v.name, shape: [...v.shape], trainable: false }))
      ]
      port.postMessage({
        type: 'ready',
        parameters: served.parameters,
        stateSize: served.stateSize,
        variables,
        backend
      } satisfies Reply)
    } catch (err) {
      port.postMessage({ type: 'error', message: errorMessage(err) } satisfies Reply)
    }
  })()
}

class ServedReplica {
  readonly parameters: number
  readonly stateSize: number
  private grads: Float32Array[] = []
  private states: Float32Array[] = []
  private index = -1

  constructor(private readonly replica: Replica) {
    this.parameters = replica.trainable.reduce((sum, v) => sum + v.size, 0)
    this.stateSize = (replica.state ?? []).reduce((sum, v) => sum + v.size, 0)
  }

  handle(request: Request): Reply {
    switch (request.type) {
      case 'buffers':
        this.index = request.index
        this.grads = request.grads.map((buffer) => new Float32Array(buffer))
        this.states = request.states.map((buffer) => new Float32Array(buffer))
        return { type: 'done' }
      case 'publish':
        // Weights travel through this replica's gradient slot (free at this point).
        writeVariables(this.replica.trainable, this.slot())
        writeVariables(this.replica.state ?? [], this.states[this.index]!)
        return { type: 'done' }
      case 'adopt':
        assignVariables(this.replica.trainable, this.grads[request.from]!)
        assignVariables(this.replica.state ?? [], this.states[request.from]!)
        return { type: 'done' }
      case 'step':
        return this.step(request.shard)
      case 'apply':
        this.apply(request.weights)
        return { type: 'done' }
      case 'predict':
        return this.predict(request.shard)
    }
  }

  private step(shard: Shard): Reply {
    const slot = this.slot()
    let loss = 0
    let size = 0
    tf.tidy(() => {
      const tensors = toTensors(shard)
      size = this.replica.shardSize
        ? this.replica.shardSize(tensors)
        : (Object.values(tensors)[0]?.shape[0] ?? 0)
      const { value, grads } = tf.variableGrads(() => this.replica.loss(tensors), this.replica.trainable)
      loss = value.dataSync()[0]!
      let offset = 0
      for (const variable of this.replica.trainable) {
        const grad = grads[variable.name]
        if (grad) slot.set(grad.dataSync() as Float32Array, offset)
        else slot.fill(0, offset, offset + variable.size)
        offset += variable.size
      }
    })
    writeVariables(this.replica.state ?? [], this.states[this.index]!)
    return { type: 'done', loss, size }
  }

  private apply(weights: number[]): void {
    const mean = new Float32Array(this.parameters)
    // Same summation order in every replica, so every replica gets bit-identical gradients.
    weights.forEach((weight, i) => {
      const slot = this.grads[i]!
      for (let k = 0; k < mean.length; k++) mean[k]! += weight * slot[k]!
    })
    tf.tidy(() => {
      const named: Record<string, tf.Tensor> = {}
      let offset = 0
      for (const variable of this.replica.trainable) {
        named[variable.name] = tf.tensor(
          mean.subarray(offset, offset + variable.size),
          variable.shape,
          'float32'
        )
        offset += variable.size
      }
      this.replica.optimizer.applyGradients(named)
    })
    if (this.stateSize > 0) {
      const state = new Float32Array(this.stateSize)
      weights.forEach((weight, i) => {
        const slot = this.states[i]!
        for (let k = 0; k < state.length; k++) state[k]! += weight * slot[k]!
      })
      assignVariables(this.replica.state ?? [], state)
    }
  }

  private predict(shard: Shard): Reply {
    if (!this.replica.predict) throw new Error('this replica has no predict()')
    let outputs: Record<string, TensorData> = {}
    tf.tidy(() => {
      const result = this.replica.predict!(toTensors(shard))
      outputs = Object.fromEntries(Object.entries(result).map(([name, tensor]) => [name, tensorData(tensor)]))
    })
    return { type: 'done', outputs }
  }

  /** This replica's own gradient slot in shared memory. */
  private slot(): Float32Array {
    if (this.index < 0) throw new Error('replica has no shared buffers yet')
    return this.grads[this.index]!
  }
}

function toTensors(shard: Shard): Record<string, tf.Tensor> {
  return Object.fromEntries(
    Object.entries(shard).map(([name, t]) => [name, tf.tensor(t.data, t.shape, t.dtype)])
  )
}

function writeVariables(variables: tf.Variable[], target: Float32Array): void {
  let offset = 0
  for (const variable of variables) {
    target.set(variable.dataSync() as Float32Array, offset)
    offset += variable.size
  }
}

function assignVariables(variables: tf.Variable[], source: Float32Array): void {
  let offset = 0
  for (const variable of variables) {
    const value = tf.tensor(source.slice(offset, offset + variable.size), variable.shape, 'float32')
    variable.assign(value)
    value.dispose()
    offset += variable.size
  }
}
