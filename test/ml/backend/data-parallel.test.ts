// Splitting a batch over worker threads must train exactly like one process on the whole batch:
// same weights after every step, same predictions, one set of weights to checkpoint.
import * as tf from '@tensorflow/tfjs-core'
import { build } from 'esbuild'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { DataParallel, splitBatch, type Shard } from '../../../main/ml/backend/data-parallel'
import { initBackend } from '../../../main/ml/backend/ladder'
import { linearModel, type LinearInit } from './fixtures/linear-model'
import { randomValues } from './helpers'

const init: LinearInit = { weights: [0.5, -0.25, 1, 0], bias: 0.1, runningMean: 0.25 }
let dir = ''
let workerUrl: URL

beforeAll(async () => {
  await initBackend('cpu')
  // Worker threads run plain JS: bundle the fixture the way scripts/build-node.mjs bundles entries,
  // under out/ so the bundle resolves node_modules like the real ones.
  mkdirSync(join(process.cwd(), 'out'), { recursive: true })
  dir = mkdtempSync(join(process.cwd(), 'out', 'test-data-parallel-'))
  const requireHere = createRequire(import.meta.url)
  await build({
    entryPoints: [join(import.meta.dirname, 'fixtures/linear-replica.ts')],
    outfile: join(dir, 'linear-replica.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    absWorkingDir: process.cwd(),
    plugins: [
      {
        name: 'bundle-tfjs-core-dist',
        setup(b) {
          b.onResolve({ filter: /^@tensorflow\/tfjs-core\/dist\// }, (args) => ({
            path: requireHere.resolve(args.path)
          }))
        }
      }
    ],
    logLevel: 'silent'
  })
  workerUrl = pathToFileURL(join(dir, 'linear-replica.mjs'))
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

function batch(rows: number, seed: number): Shard {
  return {
    x: { data: randomValues(rows * 4, seed), shape: [rows, 4], dtype: 'float32' },
    y: { data: randomValues(rows, seed + 1), shape: [rows, 1], dtype: 'float32' }
  }
}

/** Three SGD steps on whole batches in this process: the reference. */
function trainInOneProcess(batches: Shard[]): { w: Float32Array; b: Float32Array; runningMean: number } {
  return tf.tidy(() => {
    const model = linearModel(init)
    for (const whole of batches) {
      const tensors = {
        x: tf.tensor(whole.x!.data, whole.x!.shape),
        y: tf.tensor(whole.y!.data, whole.y!.shape)
      }
      model.optimizer.minimize(() => model.loss(tensors), false, model.trainable)
    }
    const result = {
      w: Float32Array.from(model.trainable[0]!.dataSync()),
      b: Float32Array.from(model.trainable[1]!.dataSync()),
      runningMean: model.state[0]!.dataSync()[0]!
    }
    tf.dispose([...model.trainable, ...model.state])
    return result
  })
}

describe('DataParallel', () => {
  test.each([
    ['cpu', 8],
    ['wasm', 7]
  ] as const)(
    'two %s replicas on batches of %i train to the same weights as one process',
    async (backend, rows) => {
      const batches = [batch(rows, 1), batch(rows, 3), batch(rows, 5)]
      const expected = trainInOneProcess(batches)
      const pool = await DataParallel.start({ workerUrl, workers: 2, backend, init })
      try {
        expect(pool.backends.map((b) => b.name)).toEqual([backend, backend])
        for (const whole of batches) {
          const result = await pool.step(splitBatch(whole, 2))
          expect(result.examples).toBe(rows)
        }
        const weights = await pool.readWeights()
        expect(weights.map((w) => w.name)).toEqual(['w', 'b', 'runningMean'])
        expect(Array.from(weights[0]!.values)).toEqual(
          Array.from(expected.w).map((v) => expect.closeTo(v, 5))
        )
        expect(weights[1]!.values[0]).toBeCloseTo(expected.b[0]!, 5)
        // state is averaged with the shard weights, which reproduces the whole-batch running mean
        expect(weights[2]!.values[0]).toBeCloseTo(expected.runningMean, 6)
      } finally {
        await pool.close()
      }
    }
  )

  test('predictions of the shards, in order, are the predictions of the whole batch', async () => {
    const whole = batch(5, 9)
    const pool = await DataParallel.start({ workerUrl, workers: 2, backend: 'cpu', init })
    try {
      const outputs = await pool.predict(splitBatch({ x: whole.x! }, 2))
      expect(outputs.map((o) => o.y!.shape)).toEqual([
        [3, 1],
        [2, 1]
      ])
      const predicted = [...outputs[0]!.y!.data, ...outputs[1]!.y!.data]
      const expected = whole.x!.data.length / 4
      expect(predicted).toHaveLength(expected)
      for (let row = 0; row < 5; row++) {
        let value = init.bias
        for (let k = 0; k < 4; k++) value += whole.x!.data[row * 4 + k]! * init.weights[k]!
        expect(predicted[row]).toBeCloseTo(value, 5)
      }
    } finally {
      await pool.close()
    }
  })

  test('a replica that fails to start is reported, and no thread is left running', async () => {
    const missing = pathToFileURL(join(dir, 'no-such-replica.mjs'))
    await expect(DataParallel.start({ workerUrl: missing, workers: 2, backend: 'cpu' })).rejects.toThrow(
      /no-such-replica|Cannot find module/
    )
  })

  test('splitBatch keeps rows together and spreads the remainder over the first shards', () => {
    const shards = splitBatch(batch(5, 11), 3)
    expect(shards.map((s) => s.x!.shape[0])).toEqual([2, 2, 1])
    expect(shards.map((s) => s.y!.data.length)).toEqual([2, 2, 1])
    expect(Array.from(shards[2]!.x!.data)).toEqual(Array.from(batch(5, 11).x!.data.slice(16, 20)))
  })
})
