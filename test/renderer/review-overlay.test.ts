import { describe, expect, it } from 'vitest'
import type { OpacityBox, Prediction } from '../../common/contract'
import { REVIEW_COLORS, PREDICTION_COLOR } from '../../renderer/src/classes'
import { predictionOverlay } from '../../renderer/src/viewer/overlay'

const truth: OpacityBox[] = [
  { x: 100, y: 100, width: 200, height: 300 },
  { x: 600, y: 120, width: 180, height: 260 }
]
const box = (score: number, x: number, y: number, width: number, height: number): Prediction => ({
  label: 'opacity',
  score,
  x,
  y,
  width,
  height
})

describe('the viewer overlay of a prediction layer', () => {
  it('marks a box on a truth box as TP, a stray box as FP, and the untouched truth box as missed', () => {
    const predictions = [box(0.9, 105, 102, 198, 296), box(0.7, 1200, 900, 100, 100)]
    const overlay = predictionOverlay(predictions, 0.3, truth)
    expect(overlay.counts).toEqual({ tp: 1, fp: 1, fn: 1 })
    expect(overlay.shapes.map((s) => [s.mark, s.color])).toEqual([
      ['tp', REVIEW_COLORS.tp],
      ['fp', REVIEW_COLORS.fp],
      ['fn', REVIEW_COLORS.fn]
    ])
    expect(overlay.shapes[0].text).toBe('opacity 0.90 · TP')
    expect(overlay.shapes[2]).toMatchObject({ ...truth[1], text: 'opacity · missed' })
  })

  it('drops boxes below the threshold before matching, so a truth box they would find counts as missed', () => {
    const predictions = [box(0.2, 105, 102, 198, 296)]
    expect(predictionOverlay(predictions, 0.3, truth).counts).toEqual({ tp: 0, fp: 0, fn: 2 })
    expect(predictionOverlay(predictions, 0.1, truth).counts).toEqual({ tp: 1, fp: 0, fn: 1 })
  })

  it('gives a truth box to one prediction only: the second, less confident one is a false positive', () => {
    const predictions = [box(0.6, 100, 100, 200, 300), box(0.8, 102, 101, 199, 298)]
    const overlay = predictionOverlay(predictions, 0, truth.slice(0, 1))
    expect(overlay.counts).toEqual({ tp: 1, fp: 1, fn: 0 })
    // the order given is kept: the first box (0.6) lost the match to the more confident one
    expect(overlay.shapes.map((s) => s.mark)).toEqual(['fp', 'tp'])
  })

  it('draws plain boxes without counts where the image has no truth', () => {
    const overlay = predictionOverlay([box(0.5, 1, 1, 10, 10), box(0.1, 1, 1, 10, 10)], 0.3, null)
    expect(overlay.counts).toBeNull()
    expect(overlay.shapes).toHaveLength(1)
    expect(overlay.shapes[0]).toMatchObject({ mark: 'plain', color: PREDICTION_COLOR, text: 'opacity 0.50' })
  })

  it('ignores rows that are not opacity boxes', () => {
    const none: Prediction = { label: 'none', score: 0.9, x: 0, y: 0, width: 1, height: 1 }
    expect(predictionOverlay([none], 0, []).counts).toEqual({ tp: 0, fp: 0, fn: 0 })
  })
})
