import { describe, expect, it } from 'vitest'
import type { Evaluation } from '../../common/contract'
import {
  binLabels,
  confusionOption,
  confusionTotals,
  defaultHistogramClass,
  histogramOption,
  prCurveOption
} from '../../renderer/src/predictions/eval-charts'

const figures = { negative: 0.5, typical: 0.25, indeterminate: null, atypical: 0, opacity: 0.4, none: 0.8 }

describe('Evaluation charts', () => {
  it('draws one PR line per scored class, recall on x, with its AP in the legend', () => {
    const curves = Object.fromEntries(
      Object.keys(figures).map((cls) => [
        cls,
        { confidence: [0.9, 0.5], precision: [1, 0.5], recall: [0.5, 0.5] }
      ])
    ) as Evaluation['curves']
    const option = prCurveOption({ curves, report: { ap: figures } as Evaluation['report'] })
    expect(option.series.map((s) => s.name)).toEqual([
      'negative 0.500',
      'typical 0.250',
      'indeterminate (no AP)',
      'atypical 0.000',
      'opacity 0.400',
      'none 0.800'
    ])
    expect(option.series[0].data).toEqual([
      [0.5, 1, 0.9],
      [0.5, 0.5, 0.5]
    ])
  })

  it('puts truth on rows and predictions on columns of the confusion heatmap, with its totals', () => {
    const confusion: Evaluation['confusion'] = {
      classes: ['negative', 'typical', 'indeterminate', 'atypical'],
      matrix: [
        [3, 1, 0, 0],
        [0, 2, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 0, 1]
      ]
    }
    const option = confusionOption(confusion)
    // [predicted column, truth row, count]
    expect(option.series[0].data).toContainEqual([1, 0, 1])
    expect(option.series[0].data).toContainEqual([1, 2, 1])
    expect(option.visualMap.max).toBe(3)
    expect(option.yAxis.inverse).toBe(true)
    expect(confusionTotals(confusion)).toEqual({ studies: 8, correct: 6, accuracy: 0.75 })
  })

  it('bins confidences with labels and shows true against false positives of one class', () => {
    expect(binLabels([0, 0.5, 1])).toEqual(['0.0–0.5', '0.5–1.0'])
    expect(binLabels([0, 0.25, 0.5])).toEqual(['0.00–0.25', '0.25–0.50'])
    const histograms: Evaluation['histograms'] = {
      edges: [0, 0.5, 1],
      classes: {
        opacity: { truePositives: [1, 4], falsePositives: [6, 2] }
      } as Evaluation['histograms']['classes']
    }
    const option = histogramOption(histograms, 'opacity')
    expect(option.series.map((s) => [s.name, s.data])).toEqual([
      ['true positives', [1, 4]],
      ['false positives', [6, 2]]
    ])
    expect(histogramOption(histograms, 'none').series[0].data).toEqual([])
  })
})

describe('the confidence histogram', () => {
  it('opens on opacity when it has detections, else on the first class that has', () => {
    const empty = { truePositives: [0, 0], falsePositives: [0, 0] }
    const classes = {
      negative: empty,
      typical: { truePositives: [0, 1], falsePositives: [0, 0] },
      indeterminate: empty,
      atypical: empty,
      opacity: empty,
      none: { truePositives: [1, 0], falsePositives: [0, 0] }
    }
    expect(defaultHistogramClass({ edges: [0, 0.5, 1], classes })).toBe('typical')
    expect(
      defaultHistogramClass({
        edges: [0, 0.5, 1],
        classes: { ...classes, opacity: { truePositives: [0, 1], falsePositives: [0, 0] } }
      })
    ).toBe('opacity')
  })
})
