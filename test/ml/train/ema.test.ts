import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDetector, type Detector } from '../../../main/ml/detect/detector'
import { WeightAverage } from '../../../main/ml/train/ema'
import { namedWeightVariables } from '../../../main/ml/train/step'

let detector: Detector

beforeAll(async () => {
  await tf.setBackend('cpu')
  detector = createDetector({ imageSize: 128, widthMultiplier: 0.25, depthMultiplier: 0.25 })
})

afterAll(() => detector.dispose())

describe('WeightAverage', () => {
  it('averages each trained weight with the ramped decay, copies frozen ones, and swaps in and out', async () => {
    const variables = namedWeightVariables(detector)
    const ema = new WeightAverage(variables, detector)
    const [name, variable] = [...variables].find(([n]) => n.startsWith('head/'))!
    const frozenName = [...variables.keys()].find((n) => n.startsWith('backbone/'))!
    const start = Float32Array.from(variable.dataSync())
    // two "steps": the weight moves by +1 then +2; decays (1+t)/(10+t) = 2/11 then 3/12
    variable.assign(tf.add(variable, 1))
    ema.update(1)
    variable.assign(tf.add(variable, 2))
    ema.update(2)
    const d1 = 2 / 11
    const d2 = 3 / 12
    const expected = start.map((s) => d2 * (d1 * s + (1 - d1) * (s + 1)) + (1 - d2) * (s + 3))
    const averaged = ema.weights().get(name)!.values
    averaged.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4))

    const frozen = variables.get(frozenName)!
    frozen.trainable = false
    frozen.assign(tf.add(frozen, 0.5))
    ema.update(3)
    expect(Array.from(ema.weights().get(frozenName)!.values)).toEqual(Array.from(frozen.dataSync()))
    frozen.trainable = true

    const training = Float32Array.from(variable.dataSync())
    const seen = await ema.swapIn(async () => Float32Array.from(variable.dataSync()))
    expect(Array.from(seen)).toEqual(Array.from(ema.weights().get(name)!.values))
    expect(Array.from(variable.dataSync())).toEqual(Array.from(training))
    ema.dispose()
  })
})
