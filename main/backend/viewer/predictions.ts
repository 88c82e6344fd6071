// The viewer's prediction layer: the boxes, `none` scores and study probabilities of a Kaggle
// submission CSV or of a prediction stored in the workspace, per image and per study, in original
// DICOM pixels. A submission's malformed rows are kept with their line numbers for the panel.
import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import type {
  ImagePredictions,
  Prediction,
  PredictionsSummary,
  PredictionTable,
  RowError
} from '../../../common/contract'
import { STUDY_CLASSES, type StudyClass } from '../../../common/domain'
import { UserError } from '../../core/errors'
import {
  headerError,
  headerLine,
  parseSubmissionCsv,
  readCsvRecords,
  SUBMISSION_HEADER
} from '../../core/submission/submission-csv'

/**
 * Far above a real submission (the 2,477 rows of the Kaggle test set are a few MB even with 100
 * boxes an image), and parsed in about 5 s: the CSV parser blocks the back end while it runs.
 */
const MAX_SUBMISSION_BYTES = 32 << 20

type StudyProbabilities = Record<StudyClass, number>

export interface PredictionLayer {
  summary: PredictionsSummary
  images: Map<string, { boxes: Prediction[]; none: number | null }>
  studies: Map<string, StudyProbabilities>
}

/**
 * The text of a file that declares itself a submission (first record `id,PredictionString`). Any
 * other file is refused without a word of its content: the path may be one a page sent, and a row
 * error that quotes its first field would hand that page the file line by line.
 */
async function readSubmissionText(file: string): Promise<string> {
  const { size } = await stat(file)
  if (size > MAX_SUBMISSION_BYTES)
    throw new UserError(
      `${file}: ${Math.round(size / 2 ** 20)} MB is too large for a submission CSV (at most ${MAX_SUBMISSION_BYTES >> 20} MB)`
    )
  const text = await readFile(file, 'utf8')
  if (!startsWithSubmissionHeader(text))
    throw new UserError(`${file}: not a submission CSV (its first line is not '${SUBMISSION_HEADER}')`)
  return text
}

function startsWithSubmissionHeader(text: string): boolean {
  const first = headerLine(text)
  try {
    return headerError(readCsvRecords(first), first) === null
  } catch {
    // not even one readable CSV record (an open quote): not a submission
    return false
  }
}

/** A stored prediction's images and studies, as predictions.json holds them. */
export interface PredictionRecords {
  images: ReadonlyArray<{
    imageId: string
    boxes: ReadonlyArray<{ x1: number; y1: number; x2: number; y2: number; confidence: number }>
    none: number
  }>
  studies: ReadonlyArray<{ studyId: string; probabilities: StudyProbabilities }>
}

/** Image rows become boxes (opacity) and a `none` score; study rows become class probabilities. */
export async function readSubmissionLayer(file: string): Promise<PredictionLayer> {
  const parsed = parseSubmissionCsv(await readSubmissionText(file), undefined, file)
  const images: PredictionLayer['images'] = new Map()
  const studies: PredictionLayer['studies'] = new Map()
  for (const row of parsed.rows) {
    if (row.id.endsWith('_image')) {
      const boxes = row.detections
        .filter((d) => d.cls === 'opacity')
        .map((d) => cornerToPrediction(d.cls, d.confidence, d))
      const none = row.detections.find((d) => d.cls === 'none')?.confidence ?? null
      images.set(row.id.slice(0, -'_image'.length), { boxes, none })
    } else if (row.id.endsWith('_study')) {
      const probabilities = Object.fromEntries(STUDY_CLASSES.map((c) => [c, 0])) as StudyProbabilities
      for (const d of row.detections)
        if ((STUDY_CLASSES as readonly string[]).includes(d.cls))
          probabilities[d.cls as StudyClass] = Math.max(probabilities[d.cls as StudyClass], d.confidence)
      studies.set(row.id.slice(0, -'_study'.length), probabilities)
    }
  }
  const rowErrors: RowError[] = parsed.issues
    .filter((issue) => issue.severity === 'error')
    .map((issue) => ({
      line: issue.line ?? 0,
      message: issue.id ? `${issue.id}: ${issue.message}` : issue.message
    }))
  return layerOf(
    { kind: 'submission-csv', source: file, name: basename(file), predictionId: null, rowErrors },
    images,
    studies
  )
}

/** A stored prediction (predictions.json of `cxr-studio predict` or the Predict view) as the layer. */
export function predictionLayer(
  records: PredictionRecords,
  source: { folder: string; predictionId: string }
): PredictionLayer {
  const images: PredictionLayer['images'] = new Map()
  for (const image of records.images) {
    images.set(image.imageId, {
      boxes: image.boxes.map((b) => cornerToPrediction('opacity', b.confidence, b)),
      none: image.none
    })
  }
  const studies = new Map(records.studies.map((study) => [study.studyId, study.probabilities]))
  return layerOf(
    {
      kind: 'prediction',
      source: source.folder,
      name: source.predictionId,
      predictionId: source.predictionId,
      rowErrors: []
    },
    images,
    studies
  )
}

export function imagePredictions(
  layer: PredictionLayer | null,
  image: { imageId: string; studyId: string }
): ImagePredictions {
  const found = layer?.images.get(image.imageId)
  const probabilities = layer?.studies.get(image.studyId)
  return {
    boxes: found?.boxes ?? [],
    none: found?.none ?? null,
    study: probabilities ? { studyId: image.studyId, probabilities } : null
  }
}

export function predictionTable(layer: PredictionLayer | null): PredictionTable {
  if (!layer) return { layer: null, images: [], studies: [] }
  return {
    layer: layer.summary,
    images: [...layer.images].map(([imageId, { boxes, none }]) => ({
      imageId,
      boxes: boxes.map(
        (b) => [b.x, b.y, b.x + b.width, b.y + b.height, b.score] as [number, number, number, number, number]
      ),
      none
    })),
    studies: [...layer.studies].map(([studyId, probabilities]) => ({ studyId, probabilities }))
  }
}

function cornerToPrediction(
  label: string,
  score: number,
  box: { x1: number; y1: number; x2: number; y2: number }
): Prediction {
  return { label, score, x: box.x1, y: box.y1, width: box.x2 - box.x1, height: box.y2 - box.y1 }
}

function layerOf(
  source: Omit<PredictionsSummary, 'images' | 'boxes' | 'studies'>,
  images: PredictionLayer['images'],
  studies: PredictionLayer['studies']
): PredictionLayer {
  const boxes = [...images.values()].reduce((n, image) => n + image.boxes.length, 0)
  return { summary: { ...source, images: images.size, boxes, studies: studies.size }, images, studies }
}
