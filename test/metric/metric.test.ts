import { describe, expect, it } from 'vitest'
import { SCORED_CLASSES, STUDY_CLASSES, type StudyClass } from '../../common/domain'
import { score, type ScoreReport } from '../../main/core/metric/score'
import { truthFromCsv } from '../../main/core/metric/truth'
import { envelopeArea } from '../../main/core/metric/voc-ap'
import { parseSubmissionCsv } from '../../main/core/submission/submission-csv'
import { referenceScore, type ReferenceResult } from './reference-scorer'
import { imageCsv, rng, studyCsv, submissionCsv, type Corners, type TruthSpec } from './fixtures'

function ours(spec: TruthSpec, rows: Array<[string, string]>): ScoreReport {
  const { truth } = truthFromCsv(studyCsv(spec), imageCsv(spec))
  return score(truth, parseSubmissionCsv(submissionCsv(rows)).rows)
}

function reference(
  spec: TruthSpec,
  rows: Array<[string, string]>,
  matching?: 'unmatched' | 'devkit'
): ReferenceResult {
  return referenceScore(studyCsv(spec), imageCsv(spec), submissionCsv(rows), matching)
}

/** Both implementations must give `expected` for the class. */
function expectAp(
  spec: TruthSpec,
  rows: Array<[string, string]>,
  cls: string,
  expected: number | null
): void {
  const report = ours(spec, rows)
  const ref = reference(spec, rows)
  if (expected === null) {
    expect(report.ap[cls as keyof ScoreReport['ap']]).toBeNull()
    expect(ref.ap[cls]).toBeNull()
  } else {
    expect(report.ap[cls as keyof ScoreReport['ap']]).toBeCloseTo(expected, 12)
    expect(ref.ap[cls]).toBeCloseTo(expected, 12)
  }
}

const box = (c: Corners) => c.join(' ')

// Two studies of each class, one image each; half the images have two opacity boxes.
const FULL: TruthSpec = {
  studies: STUDY_CLASSES.flatMap((cls, i) => [
    { studyId: `s${i}a`, cls },
    { studyId: `s${i}b`, cls }
  ]),
  images: STUDY_CLASSES.flatMap((_, i) => [
    {
      imageId: `i${i}a`,
      studyId: `s${i}a`,
      boxes: [
        [100, 100, 400, 500],
        [600, 120, 900, 520]
      ] as Corners[]
    },
    { imageId: `i${i}b`, studyId: `s${i}b`, boxes: [] }
  ])
}

function perfectRows(spec: TruthSpec): Array<[string, string]> {
  return [
    ...spec.studies.map((s): [string, string] => [`${s.studyId}_study`, `${s.cls} 1 0 0 1 1`]),
    ...spec.images.map((im): [string, string] => [
      `${im.imageId}_image`,
      im.boxes.length ? im.boxes.map((b) => `opacity 0.9 ${box(b)}`).join(' ') : 'none 1 0 0 1 1'
    ])
  ]
}

describe('competition metric (VOC 2010 AP@0.5, six classes)', () => {
  it('scores a perfect submission 1 on every class and overall', () => {
    const report = ours(FULL, perfectRows(FULL))
    for (const cls of SCORED_CLASSES) expect(report.ap[cls]).toBe(1)
    expect([report.studyMap, report.imageMap, report.final]).toEqual([1, 1, 1])
    expect(reference(FULL, perfectRows(FULL)).final).toBe(1)
  })

  it('scores an empty submission 0 and counts every truth id as missing', () => {
    const report = ours(FULL, [])
    for (const cls of SCORED_CLASSES) expect(report.ap[cls]).toBe(0)
    expect(report.final).toBe(0)
    expect(report.counts.missingIds).toHaveLength(FULL.studies.length + FULL.images.length)
    expect(reference(FULL, []).final).toBe(0)
  })

  it('scores 0 when every study gets a wrong class and every box misses', () => {
    const wrong = (cls: StudyClass) => STUDY_CLASSES[(STUDY_CLASSES.indexOf(cls) + 1) % 4]
    const rows: Array<[string, string]> = [
      ...FULL.studies.map((s): [string, string] => [`${s.studyId}_study`, `${wrong(s.cls)} 0.9 0 0 1 1`]),
      ...FULL.images.map((im): [string, string] => [
        `${im.imageId}_image`,
        im.boxes.length ? 'none 0.8 0 0 1 1' : 'opacity 0.7 0 0 50 50'
      ])
    ]
    const report = ours(FULL, rows)
    for (const cls of SCORED_CLASSES) expect(report.ap[cls]).toBe(0)
    expect(report.counts.classes.opacity).toMatchObject({
      groundTruth: 8,
      detections: 4,
      truePositives: 0,
      falsePositives: 4
    })
    expect(reference(FULL, rows).final).toBe(0)
  })

  it('breaks confidence ties by submission order (false positive first halves the AP)', () => {
    const spec: TruthSpec = {
      studies: [{ studyId: 'sa', cls: 'typical' }],
      images: [
        { imageId: 'a', studyId: 'sa', boxes: [[0, 0, 100, 100]] },
        { imageId: 'b', studyId: 'sa', boxes: [[0, 0, 100, 100]] }
      ]
    }
    const miss: [string, string] = ['a_image', 'opacity 0.5 500 500 600 600']
    const hit: [string, string] = ['b_image', 'opacity 0.5 0 0 100 100']
    // FP then TP: precision 0, 0.5 at recall 0, 0.5 -> AP 0.5 * 0.5
    expectAp(spec, [miss, hit], 'opacity', 0.25)
    // TP then FP: precision 1 at recall 0.5 -> AP 0.5
    expectAp(spec, [hit, miss], 'opacity', 0.5)
  })

  it('ranks several boxes of one image together with the other images', () => {
    const spec: TruthSpec = {
      studies: [],
      images: [
        {
          imageId: 'a',
          studyId: 's',
          boxes: [
            [0, 0, 100, 100],
            [200, 0, 300, 100]
          ]
        }
      ]
    }
    // TP (0.9), FP (0.8), TP (0.7): P = 1, 1/2, 2/3 at R = 1/2, 1/2, 1 -> 1/2 * 1 + 1/2 * 2/3
    const rows: Array<[string, string]> = [
      ['a_image', 'opacity 0.9 0 0 100 100 opacity 0.8 500 500 600 600 opacity 0.7 200 0 300 100']
    ]
    expectAp(spec, rows, 'opacity', 0.5 + 1 / 3)
    // the PR curve the review UI plots, one point per detection in ranking order
    expect(ours(spec, rows).curves.opacity).toEqual({
      confidence: [0.9, 0.8, 0.7],
      precision: [1, 0.5, 2 / 3],
      recall: [0.5, 0.5, 1]
    })
  })

  it('counts a duplicate of an already matched box as a false positive', () => {
    const spec: TruthSpec = {
      studies: [],
      images: [
        { imageId: 'a', studyId: 's', boxes: [[0, 0, 100, 100]] },
        { imageId: 'b', studyId: 's', boxes: [[0, 0, 100, 100]] }
      ]
    }
    const rows: Array<[string, string]> = [
      ['a_image', 'opacity 0.9 0 0 100 100 opacity 0.8 2 2 100 100'],
      ['b_image', 'opacity 0.7 0 0 100 100']
    ]
    expectAp(spec, rows, 'opacity', 0.5 + 1 / 3)
    expect(ours(spec, rows).counts.classes.opacity).toMatchObject({ truePositives: 2, falsePositives: 1 })
  })

  it('does not match at IoU exactly 0.5, but does just above it', () => {
    const spec: TruthSpec = {
      studies: [],
      images: [{ imageId: 'a', studyId: 's', boxes: [[100, 100, 300, 200]] }]
    }
    // half of the ground-truth box: intersection 10000 / union 20000
    expectAp(spec, [['a_image', 'opacity 0.9 100 100 200 200']], 'opacity', 0)
    // 10100 / 20000 = 0.505
    expectAp(spec, [['a_image', 'opacity 0.9 100 100 201 200']], 'opacity', 1)
  })

  it('gives classes without ground truth a null AP and leaves them out of the means', () => {
    const spec: TruthSpec = {
      studies: [
        { studyId: 'sa', cls: 'negative' },
        { studyId: 'sb', cls: 'typical' }
      ],
      images: [
        { imageId: 'a', studyId: 'sa', boxes: [] },
        { imageId: 'b', studyId: 'sb', boxes: [] }
      ]
    }
    const rows: Array<[string, string]> = [
      ['sa_study', 'negative 0.9 0 0 1 1 atypical 0.8 0 0 1 1'],
      ['sb_study', 'negative 0.6 0 0 1 1 typical 0.5 0 0 1 1'],
      ['a_image', 'none 0.9 0 0 1 1 opacity 0.4 0 0 10 10'],
      ['b_image', 'none 0.3 0 0 1 1']
    ]
    const report = ours(spec, rows)
    expect(report.ap).toMatchObject({ indeterminate: null, atypical: null, opacity: null })
    // negative: TP 0.9, FP 0.6 -> 1; typical: only TP -> 1; none: 2 TPs -> 1
    expect(report.ap).toMatchObject({ negative: 1, typical: 1, none: 1 })
    expect(report.studyMap).toBe(1)
    expect(report.imageMap).toBe(1)
    expect(report.final).toBe(1)
    expect(reference(spec, rows).ap).toMatchObject({
      indeterminate: null,
      atypical: null,
      opacity: null,
      negative: 1
    })
  })

  it('reports ids that are not in the truth and ignores their predictions', () => {
    const rows = [...perfectRows(FULL), ['zzz_image', 'opacity 1 0 0 10 10'] as [string, string]]
    const report = ours(FULL, rows)
    expect(report.counts.unknownIds).toEqual(['zzz_image'])
    expect(report.warnings.join('\n')).toContain('zzz_image')
    expect(report.final).toBe(1)
  })

  it('takes the best not-yet-matched box, where the VOC devkit would call the detection a duplicate', () => {
    // Two overlapping ground-truth boxes; the second detection overlaps the first box best (0.96),
    // which is taken, and the second box well enough (0.85).
    const spec: TruthSpec = {
      studies: [],
      images: [
        {
          imageId: 'a',
          studyId: 's',
          boxes: [
            [0, 0, 100, 100],
            [0, 10, 100, 110]
          ]
        }
      ]
    }
    const rows: Array<[string, string]> = [['a_image', 'opacity 0.9 0 0 100 100 opacity 0.8 0 2 100 102']]
    expectAp(spec, rows, 'opacity', 1)
    expect(reference(spec, rows, 'devkit').ap.opacity).toBeCloseTo(0.5, 12)
  })

  it('matches an independent VOC devkit transcription on 300 random submissions to 1e-6', () => {
    let compared = 0
    let fractional = 0
    let nullClasses = 0
    for (let seed = 1; seed <= 300; seed++) {
      const { spec, rows } = randomCase(seed)
      const mine = ours(spec, rows)
      const ref = reference(spec, rows)
      for (const cls of SCORED_CLASSES) {
        const a = mine.ap[cls]
        const b = ref.ap[cls]
        if (a === null || b === null) {
          expect({ seed, cls, ap: a }).toEqual({ seed, cls, ap: b })
          nullClasses++
          continue
        }
        expect(Math.abs(a - b), `seed ${seed} ${cls}: ${a} vs ${b}`).toBeLessThan(1e-6)
        compared++
        if (a > 0 && a < 1) fractional++
      }
      expect(Math.abs((mine.final ?? NaN) - (ref.final ?? NaN)), `seed ${seed} final`).toBeLessThan(1e-6)
      if (SCORED_CLASSES.every((c) => mine.ap[c] !== null)) {
        expect(mine.final).toBeCloseTo((4 * mine.studyMap! + mine.ap.opacity! + mine.ap.none!) / 6, 12)
      }
    }
    // The random cases must exercise partial rankings and absent classes, not just 0s and 1s.
    expect(fractional / compared).toBeGreaterThan(0.4)
    expect(nullClasses).toBeGreaterThan(20)
  })

  it('computes the all-point envelope area (precision made monotone from the right)', () => {
    // P = 1, 0.5, 0.667 at R = 0.5, 0.5, 1: the dip at the duplicate is filled by the later 0.667
    expect(envelopeArea([0.5, 0.5, 1], [1, 0.5, 2 / 3])).toBeCloseTo(0.5 + 1 / 3, 12)
  })
})

function randomCase(seed: number): { spec: TruthSpec; rows: Array<[string, string]> } {
  const r = rng(seed)
  const int = (n: number) => Math.floor(r() * n)
  const classPool = STUDY_CLASSES.filter(() => r() < 0.75)
  if (classPool.length === 0) classPool.push('typical')
  const noBoxes = r() < 0.1
  const spec: TruthSpec = { studies: [], images: [] }
  for (let s = 0; s < 1 + int(8); s++) {
    const studyId = `st${seed}x${s}`
    spec.studies.push({ studyId, cls: classPool[int(classPool.length)] })
    for (let k = 0; k < (r() < 0.2 ? 2 : 1); k++) {
      const boxes: Corners[] = []
      const n = noBoxes || r() < 0.4 ? 0 : 1 + int(3)
      for (let b = 0; b < n; b++) {
        const x = int(800)
        const y = int(800)
        boxes.push([x, y, x + 20 + int(300), y + 20 + int(300)])
      }
      spec.images.push({ imageId: `im${seed}x${s}x${k}`, studyId, boxes })
    }
  }

  // Coarse confidences create ties; jittered boxes land on both sides of IoU 0.5.
  const conf = () => (r() < 0.3 ? Math.round(r() * 10) / 10 : r())
  const jitter = ([x1, y1, x2, y2]: Corners): Corners => {
    const s = 0.4 * r() * Math.min(x2 - x1, y2 - y1)
    return [x1 + (r() - 0.5) * s, y1 + (r() - 0.5) * s, x2 + (r() - 0.5) * s, y2 + (r() - 0.5) * s]
  }
  const rows: Array<[string, string]> = []
  for (const s of spec.studies) {
    if (r() < 0.1) continue
    const groups = STUDY_CLASSES.filter(() => r() < 0.7).map((c) => `${c} ${conf()} 0 0 1 1`)
    rows.push([`${s.studyId}_study`, groups.join(' ')])
  }
  for (const im of spec.images) {
    if (r() < 0.1) continue
    const groups: string[] = []
    for (const b of im.boxes) {
      if (r() < 0.7) groups.push(`opacity ${conf()} ${jitter(b).join(' ')}`)
      if (r() < 0.2) groups.push(`opacity ${conf()} ${jitter(b).join(' ')}`)
    }
    for (let k = int(3); k > 0; k--) {
      const x = int(900)
      const y = int(900)
      groups.push(`opacity ${conf()} ${x} ${y} ${x + 10 + int(200)} ${y + 10 + int(200)}`)
    }
    if (r() < 0.6) groups.push(`none ${conf()} 0 0 1 1`)
    rows.push([`${im.imageId}_image`, groups.join(' ')])
  }
  if (r() < 0.2) rows.push([`unknown${seed}_image`, `opacity 0.99 0 0 100 100`])
  for (let i = rows.length - 1; i > 0; i--) {
    const j = int(i + 1)
    ;[rows[i], rows[j]] = [rows[j], rows[i]]
  }
  return { spec, rows }
}
