// Worker entry for the benchmark's data-parallel runs: one BenchNet replica per thread.
import * as tf from '@tensorflow/tfjs-core'
import { serveReplica } from '../data-parallel-replica'
import { BenchNet } from './net'

serveReplica(() => {
  const net = new BenchNet()
  return {
    trainable: net.trainable,
    state: [...net.movingMeans, ...net.movingVars],
    optimizer: tf.train.adam(1e-3),
    loss: (shard) =>
      net.loss({
        images: shard.images as tf.Tensor4D,
        studyLabels: shard.studyLabels as tf.Tensor2D,
        boxTargets: shard.boxTargets as tf.Tensor4D
      }),
    predict: (shard) => {
      const { studyLogits, boxMap } = net.forward(shard.images as tf.Tensor4D, false)
      return { studyLogits, boxMap }
    }
  }
})
