import { describe, expect, it } from 'vitest'
import {
  formatImagePrediction,
  formatNumber,
  formatPredictionString,
  formatStudyPrediction,
  parsePredictionString,
  parsePredictionStringStrict,
  type Detection
} from '../../main/core/submission/prediction-string'
import { rng } from '../metric/fixtures'

describe('PredictionString parsing', () => {
  it('reads several study classes from a study row', () => {
    const { detections, errors } = parsePredictionString('typical 0.7 0 0 1 1 negative 0.2 0 0 1 1', 'study')
    expect(errors).toEqual([])
    expect(detections).toEqual([
      { cls: 'typical', confidence: 0.7, x1: 0, y1: 0, x2: 1, y2: 1 },
      { cls: 'negative', confidence: 0.2, x1: 0, y1: 0, x2: 1, y2: 1 }
    ])
  })

  it('reads opacity boxes and none from an image row, with any run of spaces', () => {
    const { detections, errors } = parsePredictionString(
      '  opacity 0.5 789.28836 582.43035 1815.94498 2499.73327   none 0.1 0 0 1 1 ',
      'image'
    )
    expect(errors).toEqual([])
    expect(detections.map((d) => d.cls)).toEqual(['opacity', 'none'])
    expect(detections[0]).toMatchObject({ x1: 789.28836, y2: 2499.73327 })
  })

  it('treats an empty string as no predictions', () => {
    expect(parsePredictionString('', 'image')).toEqual({ detections: [], errors: [], warnings: [] })
  })

  it.each([
    [
      'opacity 0.5 10 20 30',
      'image',
      6,
      "expected a number for y2 of 'opacity', found the end of the string"
    ],
    ['typical 0.5 0 0 1 1', 'image', 1, "expected a image class (opacity, none), found 'typical'"],
    ['none 1 0 0 1 1 Opacity 0.5 1 2 3 4', 'image', 7, 'class names are lower case'],
    ['opacity nan 1 2 3 4', 'image', 2, "expected a number for confidence of 'opacity', found 'nan'"],
    ['opacity 0.5 0x10 2 3 4', 'image', 3, "found '0x10'"],
    [
      'negative 1 0 0 1 1 opacity 1 0 0 1 1',
      'study',
      7,
      "expected a study class (negative, typical, indeterminate, atypical), found 'opacity'"
    ],
    ['negative 1e999 0 0 1 1', 'study', 2, 'a finite number']
  ] as const)('rejects %j at the offending token', (text, kind, token, message) => {
    const { detections, errors } = parsePredictionString(text, kind)
    expect(detections).toEqual([])
    expect(errors).toHaveLength(1)
    expect(errors[0].token).toBe(token)
    expect(errors[0].message).toContain(message)
  })

  it('reports boxes that are not whole-image or not ordered, keeping the other predictions', () => {
    const study = parsePredictionString('typical 0.5 0 0 2 1', 'study')
    expect(study.errors[0]).toMatchObject({ token: 3 })
    expect(study.errors[0].message).toContain('whole-image box 0 0 1 1')
    const image = parsePredictionString('opacity 0.5 10 10 20 20 opacity 0.4 30 10 20 40', 'image')
    expect(image.errors).toEqual([
      { token: 9, message: "box of 'opacity' needs x1 < x2 and y1 < y2, got 30 10 20 40" }
    ])
    expect(image.detections).toHaveLength(2)
  })

  it('only warns about confidences outside [0, 1]', () => {
    const { errors, warnings } = parsePredictionString('opacity 1.5 0 0 10 10', 'image')
    expect(errors).toEqual([])
    expect(warnings[0]).toMatchObject({ token: 2 })
  })

  it('throws a readable error in strict mode', () => {
    expect(() => parsePredictionStringStrict('opacity 1', 'image')).toThrow(
      "token 3: expected a number for x1 of 'opacity'"
    )
  })
})

describe('PredictionString formatting', () => {
  it('writes numbers without exponent and keeps confidences exact', () => {
    expect(formatNumber(1e-7)).toBe('0.0000001')
    expect(formatNumber(-0)).toBe('0')
    expect(formatNumber(-1.25e-7)).toBe('-0.000000125')
    expect(formatNumber(1e21)).toBe('1' + '0'.repeat(21))
    expect(formatNumber(123.456789, 4)).toBe('123.4568')
    expect(formatNumber(2, 4)).toBe('2')
    const tiny = 1.2345678901234567e-12
    expect(formatNumber(tiny)).not.toMatch(/e/i)
    expect(Number(formatNumber(tiny))).toBe(tiny)
  })

  it('emits all four study classes with their probabilities', () => {
    expect(formatStudyPrediction({ negative: 0.1, typical: 0.6, indeterminate: 0.2, atypical: 0.1 })).toBe(
      'negative 0.1 0 0 1 1 typical 0.6 0 0 1 1 indeterminate 0.2 0 0 1 1 atypical 0.1 0 0 1 1'
    )
  })

  it('emits opacity boxes then none', () => {
    expect(formatImagePrediction([{ confidence: 0.8, x1: 10.123456, y1: 20, x2: 30, y2: 40.5 }], 0.25)).toBe(
      'opacity 0.8 10.1235 20 30 40.5 none 0.25 0 0 1 1'
    )
    expect(formatImagePrediction([], 1)).toBe('none 1 0 0 1 1')
  })

  it('reads back what it writes: same confidences, boxes within 1e-4 px', () => {
    const r = rng(7)
    for (let trial = 0; trial < 200; trial++) {
      const detections: Detection[] = []
      for (let k = 0; k < 1 + Math.floor(r() * 5); k++) {
        const x1 = r() * 3000
        const y1 = r() * 3000
        detections.push({
          cls: 'opacity',
          confidence: r() ** 8,
          x1,
          y1,
          x2: x1 + 1 + r() * 900,
          y2: y1 + 1 + r() * 900
        })
      }
      const text = formatPredictionString(detections)
      expect(text).not.toMatch(/e/i)
      const back = parsePredictionString(text, 'image')
      expect(back.errors).toEqual([])
      back.detections.forEach((d, k) => {
        expect(d.confidence).toBe(detections[k].confidence)
        for (const key of ['x1', 'y1', 'x2', 'y2'] as const)
          expect(Math.abs(d[key] - detections[k][key])).toBeLessThanOrEqual(5e-5)
      })
    }
  })
})
