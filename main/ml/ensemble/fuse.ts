// Fusing the members' predictions of one folder, image by image: opacity boxes by weighted box
// fusion with the members' weights (detect/postprocess.ts, the one WBF of the code base), the
// image's `none` score and the study probabilities as weighted means. Pure: no model, no files.
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import type { Box } from '../detect/boxes'
import { weightedBoxesFusion } from '../detect/postprocess'
import type { ImagePredictionRecord, PredictedBox } from '../predict/predict-images'
import type { StudyPredictionRecord, StudyPriors } from '../predict/study-level'

export interface FusionParameters {
  weights: readonly number[]
  iouThreshold: number
  skipBoxThreshold: number
  /** Boxes kept per image after fusion. */
  maxDetections: number
}

/** What one member predicted (the parts fusion reads). */
export interface MemberPredictions {
  images: readonly ImagePredictionRecord[]
  studies: readonly StudyPredictionRecord[]
  priors: StudyPriors
}

export interface FusedPredictions {
  images: ImagePredictionRecord[]
  studies: StudyPredictionRecord[]
  priors: StudyPriors
}

/**
 * Fuses per image id, in the first member's order (then images only later members have). A member
 * without an image (a file it could not read) counts as finding no box there: WBF divides by every
 * member's weight; the means take only the members that predicted it.
 */
export function fuseMembers(
  members: readonly MemberPredictions[],
  params: FusionParameters
): FusedPredictions {
  if (members.length !== params.weights.length)
    throw new Error(`ensemble fusion: ${params.weights.length} weight(s) for ${members.length} member(s)`)
  const byId = members.map((m) => new Map(m.images.map((image) => [image.imageId, image])))
  const ids = [...new Set(members.flatMap((m) => m.images.map((image) => image.imageId)))]
  const images = ids.map((id) =>
    fuseImage(
      byId.map((map) => map.get(id)),
      params
    )
  )
  const studiesById = members.map((m) => new Map(m.studies.map((s) => [s.studyId, s])))
  const studyIds = [...new Set(members.flatMap((m) => m.studies.map((s) => s.studyId)))]
  const studies = studyIds.map((id) =>
    fuseStudy(
      studiesById.map((map) => map.get(id)),
      params.weights
    )
  )
  const priors = weightedMeanRecord(
    members.map((m) => m.priors as Record<string, number>),
    params.weights
  ) as StudyPriors
  return { images, studies, priors }
}

export function fuseImage(
  records: ReadonlyArray<ImagePredictionRecord | undefined>,
  params: FusionParameters
): ImagePredictionRecord {
  const present = records.flatMap((r, i) => (r ? [{ record: r, weight: params.weights[i] }] : []))
  const first = present[0].record
  const fused = weightedBoxesFusion(
    records.map((r) => ({
      boxes: (r?.boxes ?? []).map((b): Box => [b.x1, b.y1, b.x2, b.y2]),
      scores: (r?.boxes ?? []).map((b) => b.confidence),
      labels: (r?.boxes ?? []).map(() => 0)
    })),
    {
      weights: params.weights,
      iouThreshold: params.iouThreshold,
      skipThreshold: params.skipBoxThreshold,
      maxDetections: params.maxDetections,
      onePerSet: true
    }
  )
  const boxes: PredictedBox[] = fused.boxes.map(([x1, y1, x2, y2], k) => ({
    x1,
    y1,
    x2,
    y2,
    confidence: fused.scores[k]
  }))
  return {
    imageId: first.imageId,
    studyId: first.studyId,
    path: first.path,
    width: first.width,
    height: first.height,
    boxes,
    none: weightedMean(present.map((p) => [p.record.none, p.weight])),
    studyProbs: weightedMeanRecord(
      present.map((p) => p.record.studyProbs),
      present.map((p) => p.weight)
    ) as Record<StudyClass, number>
  }
}

function fuseStudy(
  records: ReadonlyArray<StudyPredictionRecord | undefined>,
  weights: readonly number[]
): StudyPredictionRecord {
  const present = records.flatMap((r, i) => (r ? [{ record: r, weight: weights[i] }] : []))
  return {
    studyId: present[0].record.studyId,
    imageIds: [...new Set(present.flatMap((p) => p.record.imageIds))],
    probabilities: Object.fromEntries(
      STUDY_CLASSES.map((c) => [c, weightedMean(present.map((p) => [p.record.probabilities[c], p.weight]))])
    ) as Record<StudyClass, number>
  }
}

function weightedMean(pairs: ReadonlyArray<readonly [value: number, weight: number]>): number {
  const total = pairs.reduce((s, [, w]) => s + w, 0)
  return pairs.reduce((s, [v, w]) => s + v * w, 0) / total
}

/** Key by key weighted mean over the records that have the key. */
function weightedMeanRecord(
  records: ReadonlyArray<Record<string, number>>,
  weights: readonly number[]
): Record<string, number> {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))]
  return Object.fromEntries(
    keys.map((k) => [
      k,
      weightedMean(records.flatMap((r, i) => (typeof r[k] === 'number' ? [[r[k], weights[i]] as const] : [])))
    ])
  )
}
