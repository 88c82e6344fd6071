// The competition score: VOC 2010 AP@0.5 for each of the six classes, and their means.
import { SCORED_CLASSES, STUDY_CLASSES, type ScoredClass } from '../../../common/domain'
import type { SubmissionRow } from '../submission/submission-csv'
import type { GroundTruth } from './truth'
import { scoreClass, type CornerBox, type PrCurve, type RankedDetection } from './voc-ap'

export interface ClassCounts {
  groundTruth: number
  detections: number
  truePositives: number
  falsePositives: number
}

export interface ScoreCounts {
  truthIds: number
  submissionRows: number
  /** Submission rows whose id is in the truth. */
  scoredRows: number
  /** Submission ids the truth does not know; their detections are ignored. */
  unknownIds: string[]
  /** Truth ids with no submission row; all their objects are misses. */
  missingIds: string[]
  classes: Record<ScoredClass, ClassCounts>
}

export interface ScoreReport {
  /** AP per class; null when the class has no ground truth (left out of every mean). */
  ap: Record<ScoredClass, number | null>
  studyMap: number | null
  imageMap: number | null
  /** Mean of the non-null APs: (4 × studyMap + AP_opacity + AP_none) / 6 when all six exist. */
  final: number | null
  counts: ScoreCounts
  curves: Record<ScoredClass, PrCurve>
  warnings: string[]
}

/**
 * Scores submission rows against ground truth. Detections of a class are ranked across all ids;
 * ties in confidence keep submission order (row order, then order inside the PredictionString).
 */
export function score(truth: GroundTruth, rows: readonly SubmissionRow[]): ScoreReport {
  const truthByClass = perClass<Map<string, CornerBox[]>>(() => new Map())
  for (const [id, objects] of truth) {
    for (const object of objects) {
      const byId = truthByClass[object.cls]
      const boxes = byId.get(id)
      if (boxes) boxes.push(object)
      else byId.set(id, [object])
    }
  }

  const detectionsByClass = perClass<RankedDetection[]>(() => [])
  const unknownIds: string[] = []
  const submitted = new Set<string>()
  const warnings: string[] = []
  let scoredRows = 0
  for (const row of rows) {
    if (!truth.has(row.id)) {
      unknownIds.push(row.id)
      continue
    }
    if (submitted.has(row.id))
      warnings.push(`${where(row)}${row.id} appears more than once; all its predictions are scored`)
    submitted.add(row.id)
    scoredRows++
    for (const { cls, confidence, x1, y1, x2, y2 } of row.detections) {
      detectionsByClass[cls].push({ id: row.id, confidence, x1, y1, x2, y2 })
    }
  }
  const missingIds = [...truth.keys()].filter((id) => !submitted.has(id))
  if (unknownIds.length > 0)
    warnings.push(
      `${unknownIds.length} submission row(s) name ids that are not in the truth (e.g. ${unknownIds[0]}); ignored`
    )
  if (missingIds.length > 0)
    warnings.push(
      `${missingIds.length} truth id(s) have no submission row (e.g. ${missingIds[0]}); scored as misses`
    )

  const ap = {} as Record<ScoredClass, number | null>
  const curves = {} as Record<ScoredClass, PrCurve>
  const classes = {} as Record<ScoredClass, ClassCounts>
  for (const cls of SCORED_CLASSES) {
    const result = scoreClass(truthByClass[cls], detectionsByClass[cls])
    ap[cls] = result.ap
    curves[cls] = result.curve
    classes[cls] = {
      groundTruth: result.groundTruth,
      detections: result.detections,
      truePositives: result.truePositives,
      falsePositives: result.falsePositives
    }
  }
  return {
    ap,
    studyMap: meanOfKnown(STUDY_CLASSES.map((c) => ap[c])),
    imageMap: meanOfKnown([ap.opacity, ap.none]),
    final: meanOfKnown(SCORED_CLASSES.map((c) => ap[c])),
    counts: {
      truthIds: truth.size,
      submissionRows: rows.length,
      scoredRows,
      unknownIds,
      missingIds,
      classes
    },
    curves,
    warnings
  }
}

function perClass<T>(make: () => T): Record<ScoredClass, T> {
  return Object.fromEntries(SCORED_CLASSES.map((c) => [c, make()])) as Record<ScoredClass, T>
}

function meanOfKnown(values: Array<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null)
  return known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : null
}

function where(row: SubmissionRow): string {
  return row.line !== undefined ? `line ${row.line}: ` : ''
}
