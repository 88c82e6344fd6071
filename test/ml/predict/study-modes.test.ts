// Study rows from where and how many boxes: the box features, the fitted regression, every study
// mode's probabilities (four classes summing to 1 on every study row), the fallback of runs without
// study-fusion.json, and the comparison table's scores.
import { describe, expect, it } from 'vitest'
import { STUDY_CLASSES, STUDY_FROM_CHOICES, type StudyClass } from '../../../common/domain'
import { UserError } from '../../../main/core/errors'
import { mulberry32 } from '../../../main/core/export/split'
import type { ImagePredictionRecord, PredictedBox } from '../../../main/ml/predict/predict-images'
import {
  calibration,
  featureNames,
  fitSoftmax,
  imageBoxFeatures,
  softmaxProbabilities,
  studyFeatures,
  BOX_FEATURES
} from '../../../main/ml/predict/study-evidence'
import { effectiveStudyMode, type StudyFusionFile } from '../../../main/ml/predict/study-fusion-file'
import {
  studyPredictions,
  submissionRows,
  type StudyFusionModels
} from '../../../main/ml/predict/study-level'
import { compareStudyModes } from '../../../main/ml/predict/study-modes'
import type { TruthChoice } from '../../../main/ml/predict/truth-choice'

const W = 1000
const H = 1000

function box(cx: number, cy: number, confidence: number, size = 120): PredictedBox {
  return { x1: cx - size / 2, y1: cy - size / 2, x2: cx + size / 2, y2: cy + size / 2, confidence }
}

function image(
  imageId: string,
  studyId: string,
  boxes: PredictedBox[],
  head: number[]
): ImagePredictionRecord {
  return {
    imageId,
    studyId,
    path: `${imageId}.dcm`,
    width: W,
    height: H,
    boxes: [...boxes].sort((a, b) => b.confidence - a.confidence),
    none: boxes.length ? 0.2 : 0.8,
    studyProbs: Object.fromEntries(STUDY_CLASSES.map((c, k) => [c, head[k]])) as Record<StudyClass, number>
  }
}

/**
 * Studies drawn like the hard demo: negative no box, typical boxes near both chest walls, indeterminate
 * near one wall, atypical one central box; scores noisy, plus stray low boxes. The "head" is uninformative.
 */
function syntheticStudies(
  count: number,
  seed: number
): Array<{ image: ImagePredictionRecord; label: StudyClass }> {
  const next = mulberry32(seed)
  const out: Array<{ image: ImagePredictionRecord; label: StudyClass }> = []
  for (let i = 0; i < count; i++) {
    const label = STUDY_CLASSES[i % 4]
    const score = () => 0.35 + 0.5 * next()
    const boxes: PredictedBox[] = []
    const low = 500 + 300 * next()
    if (label === 'typical')
      boxes.push(box(130 + 40 * next(), low, score()), box(870 - 40 * next(), low, score()))
    if (label === 'indeterminate') {
      const x = next() < 0.5 ? 140 : 860
      boxes.push(box(x, low, score()), box(x + (x < 500 ? 30 : -30), 300 + 200 * next(), score()))
    }
    if (label === 'atypical') boxes.push(box(440 + 120 * next(), 300 + 300 * next(), score(), 200))
    boxes.push(box(100 + 800 * next(), 100 + 800 * next(), 0.05 + 0.1 * next()))
    const id = `s${seed}-${i}`
    out.push({ image: image(`${id}i`, id, boxes, [0.25, 0.25, 0.25, 0.25]), label })
  }
  return out
}

const fits = new Map<number, StudyFusionModels>()

/** Regressions fitted on 80 synthetic studies (memoised: each fit runs 31 cross-validation fits). */
function fitted(seed = 1): StudyFusionModels {
  const known = fits.get(seed)
  if (known) return known
  const fit = (kind: 'box-evidence' | 'fused') => {
    const rows = syntheticStudies(80, seed).map((s) => ({
      x: studyFeatures([s.image], kind),
      label: STUDY_CLASSES.indexOf(s.label)
    }))
    return fitSoftmax(featureNames(kind), rows).model
  }
  const models = { 'box-evidence': fit('box-evidence'), fused: fit('fused') }
  fits.set(seed, models)
  return models
}

describe('box features', () => {
  it('tell both sides from one, central from peripheral, and count confident boxes', () => {
    const f = (boxes: PredictedBox[]) =>
      Object.fromEntries(
        BOX_FEATURES.map((name, k) => [name, imageBoxFeatures(image('i', 's', boxes, [1, 0, 0, 0]))[k]])
      )
    const bilateral = f([box(100, 700, 0.8), box(900, 700, 0.6)])
    const central = f([box(500, 400, 0.9)])
    const none = f([])
    expect(bilateral['both sides (best left x best right)']).toBeCloseTo(0.48, 6)
    expect(central['both sides (best left x best right)']).toBe(0)
    expect(bilateral['mean distance from midline']).toBeCloseTo(0.8, 6)
    expect(central['mean distance from midline']).toBeCloseTo(0, 6)
    expect(central['best central (score x (1 - distance))']).toBeCloseTo(0.9, 6)
    expect(bilateral['best peripheral (score x distance)']).toBeCloseTo(0.64, 6)
    expect(bilateral['boxes >= 0.3']).toBe(2)
    expect(bilateral['mean height (0 top, 1 bottom)']).toBeCloseTo(0.7, 6)
    expect(none['best score']).toBe(0)
    expect(none['boxes >= 0.3']).toBe(0)
  })
})

describe('fitted study regression', () => {
  it('learns the classes from where and how many boxes, better calibrated than a uniform guess', () => {
    const models = fitted(1)
    const held = syntheticStudies(60, 2)
    const scored = held.map((s) => ({
      probabilities: softmaxProbabilities(models['box-evidence'], studyFeatures([s.image], 'box-evidence')),
      label: STUDY_CLASSES.indexOf(s.label)
    }))
    const correct = scored.filter((s) => {
      const p = STUDY_CLASSES.map((c) => s.probabilities[c])
      return p.indexOf(Math.max(...p)) === s.label
    }).length
    expect(correct / held.length).toBeGreaterThan(0.9)
    const { logLoss, ece } = calibration(scored)
    expect(logLoss).toBeLessThan(Math.log(4) / 2)
    expect(ece).toBeLessThan(0.2)
  })

  it('chooses its L2 penalty by cross-validation and refuses too few studies', () => {
    const rows = syntheticStudies(40, 3).map((s) => ({
      x: studyFeatures([s.image], 'box-evidence'),
      label: STUDY_CLASSES.indexOf(s.label)
    }))
    const report = fitSoftmax(featureNames('box-evidence'), rows)
    const best = Math.min(...report.crossValidation.map((c) => c.logLoss))
    expect(report.crossValidation.find((c) => c.l2 === report.model.l2)!.logLoss).toBe(best)
    expect(() => fitSoftmax(featureNames('box-evidence'), rows.slice(0, 5))).toThrow(/at least 8/)
  })
})

describe('study modes', () => {
  it.each(STUDY_FROM_CHOICES)(
    '%s gives every study row all four classes, probabilities summing to 1',
    (mode) => {
      const images = [
        ...syntheticStudies(12, 4).map((s) => s.image),
        // a two-image study, and one whose only image has no box
        image('m1', 'multi', [box(150, 700, 0.7)], [0.1, 0.5, 0.3, 0.1]),
        image('m2', 'multi', [box(850, 650, 0.6)], [0.2, 0.4, 0.3, 0.1]),
        image('e1', 'empty', [], [0.7, 0.1, 0.1, 0.1])
      ]
      const studies = studyPredictions(
        images,
        mode,
        { negative: 0.3, typical: 0.45, indeterminate: 0.17, atypical: 0.08 },
        fitted()
      )
      expect(studies).toHaveLength(14)
      for (const study of studies) {
        const values = STUDY_CLASSES.map((c) => study.probabilities[c])
        for (const v of values) expect(v).toBeGreaterThanOrEqual(0)
        expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9)
      }
      const rows = submissionRows(images, studies).filter((r) => r.id.endsWith('_study'))
      expect(rows).toHaveLength(14)
      for (const row of rows)
        expect(row.detections.map((d) => d.cls).sort()).toEqual([...STUDY_CLASSES].sort())
    }
  )

  it("a fitted mode without the run's regressions is an error in studyPredictions", () => {
    expect(() => studyPredictions([image('a', 's', [], [1, 0, 0, 0])], 'fused')).toThrow(/study-fusion\.json/)
  })

  it('falls back to combined for a run without study-fusion.json unless the mode was asked for', () => {
    const fallback = effectiveStudyMode('/runs/old', 'fused', false, null)
    expect(fallback.mode).toBe('combined')
    expect(fallback.note).toMatch(/\/runs\/old has no study-fusion\.json/)
    expect(() => effectiveStudyMode('/runs/old', 'box-evidence', true, null)).toThrow(UserError)
    expect(() => effectiveStudyMode('/runs/old', 'box-evidence', true, null)).toThrow(
      /cxr-studio fit-study \/runs\/old/
    )
    expect(effectiveStudyMode('/runs/old', 'study-head', true, null)).toEqual({
      mode: 'study-head',
      note: null
    })
    const file = { models: fitted() } as StudyFusionFile
    expect(effectiveStudyMode('/runs/new', 'fused', false, file)).toEqual({ mode: 'fused', note: null })
  })

  it('compares every mode on the same predictions: the box evidence ranks the location-defined classes', () => {
    const held = syntheticStudies(40, 5)
    const truth: TruthChoice = {
      source: 'synthetic',
      split: 'all',
      studies: held.map((s, line) => ({
        studyId: s.image.studyId,
        classes: Object.fromEntries(STUDY_CLASSES.map((c) => [c, c === s.label ? 1 : 0])) as Record<
          StudyClass,
          0 | 1
        >,
        label: s.label,
        line
      })),
      images: held.map(
        (s, line) =>
          ({
            imageId: s.image.imageId,
            studyId: s.image.studyId,
            boxes: [],
            label: null,
            line
          }) as unknown as TruthChoice['images'][number]
      )
    }
    const images = held.map((s) => s.image)
    const uniform = { negative: 0.25, typical: 0.25, indeterminate: 0.25, atypical: 0.25 }
    const rows = compareStudyModes(truth, images, uniform, fitted())
    expect(rows.map((r) => r.mode)).toEqual([...STUDY_FROM_CHOICES])
    const byMode = Object.fromEntries(rows.map((r) => [r.mode, r]))
    // the uninformative head cannot rank; the regression on the boxes can
    expect(byMode['box-evidence'].studyMap!).toBeGreaterThan(0.9)
    expect(byMode['study-head'].studyMap!).toBeLessThan(0.5)
    expect(byMode['box-evidence'].logLoss).toBeLessThan(byMode['study-head'].logLoss)
    // without the run's regressions only the three rule-based modes are scored
    expect(compareStudyModes(truth, images, uniform, null).map((r) => r.mode)).toEqual([
      'study-head',
      'box-majority',
      'combined'
    ])
  })
})

describe('calibration', () => {
  it('measures log-loss and the expected calibration error', () => {
    const p = (top: number, k: number) =>
      Object.fromEntries(STUDY_CLASSES.map((c, i) => [c, i === k ? top : (1 - top) / 3])) as Record<
        StudyClass,
        number
      >
    // confidence 0.8 in every case, right in half of them: ECE 0.3
    const result = calibration([
      { probabilities: p(0.8, 0), label: 0 },
      { probabilities: p(0.8, 1), label: 0 }
    ])
    expect(result.ece).toBeCloseTo(0.3, 9)
    expect(result.logLoss).toBeCloseTo((-Math.log(0.8) - Math.log(0.2 / 3)) / 2, 9)
  })
})
