// The gradient helper thread of main/ml/train/gradient-helper.ts: a copy of the trainer's detector
// that, each step, takes the published weights and statistics and computes the gradients of its
// share of every pass into shared memory, meeting the trainer at every batch norm (pair-sum.ts).
import { parentPort, workerData } from 'node:worker_threads'
import { errorMessage } from '../core/errors'
import { initBackend } from '../ml/backend/ladder'
import { threadCpuMs } from '../ml/backend/profile'
import { detectorFromConfig } from '../ml/detect/detector'
import type { WeightTensor } from '../ml/model/weights'
import type { HelperInit, HelperReply, HelperRequest } from '../ml/train/gradient-helper'
import { PairSum } from '../ml/train/pair-sum'
import { namedWeightVariables, passGradients } from '../ml/train/step'
import * as tf from '@tensorflow/tfjs-core'

const port = parentPort
if (!port) throw new Error('gradient-worker must run as a worker thread')
const init = workerData as HelperInit
const send = (reply: HelperReply) => port.postMessage(reply)

try {
  await initBackend(init.backend)
  const detector = detectorFromConfig(init.config)
  const nameOf = new Map([...namedWeightVariables(detector)].map(([name, variable]) => [variable.name, name]))
  const weights = new Float32Array(init.weights)
  const grads = new Float32Array(init.grads)
  const slotOf = new Map(init.slots.map((s) => [s.name, s]))
  const pair = new PairSum(init.sums, 1)

  port.on('message', (request: HelperRequest) => {
    try {
      const cpuStart = threadCpuMs()
      const published = new Map<string, WeightTensor>(
        init.slots.map((s) => [
          s.name,
          { shape: s.shape, values: weights.subarray(s.offset, s.offset + s.size) }
        ])
      )
      tf.tidy(() => detector.setWeights(published))
      for (const [group, trainable] of request.trainability) detector.setTrainable(group, trainable)
      const { part } = request
      const batch = { ...part, samples: new Array(part.count).fill(null) }
      const passes = request.passes.map((p) => ({ ...p, sum: pair.exchange }))
      const result = passGradients(detector, batch, passes)
      const trained: string[] = []
      for (const [tfName, grad] of result.grads) {
        const slot = slotOf.get(nameOf.get(tfName) ?? '')
        if (!slot) throw new Error(`no shared slot for gradient ${tfName}`)
        grads.set(grad.dataSync() as Float32Array, slot.offset)
        trained.push(slot.name)
      }
      tf.dispose([...result.grads.values()])
      send({ type: 'done', losses: result.losses, images: part.count, trained, cpuMs: threadCpuMs() - cpuStart })
    } catch (err) {
      pair.abort()
      send({ type: 'error', message: errorMessage(err) })
    }
  })
  send({ type: 'ready' })
} catch (err) {
  send({ type: 'error', message: errorMessage(err) })
}
