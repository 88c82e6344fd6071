// Wire schemas of prediction review: predictions made from the GUI (stored in the workspace with the
// run and dataset they came from), the viewer's prediction layer, the evaluation of a prediction with
// the competition metric and its plots, and the exports (COCO, YOLO, COCO results, submission).
import { z } from 'zod'
import { SCORED_CLASSES, STUDY_CLASSES, STUDY_FROM_CHOICES } from '../domain'
import { FILTER_POLICIES } from '../dataset'
import { RUNTIME_CHOICES } from '../training'
import { DatasetId, ImageId, Prediction } from './schemas'
import { ImportedModelInfo } from './imported'
import { RunId, RunName } from './training'

/** A stored prediction's folder name under the workspace's predictions/ folder. */
export const PredictionId = RunName

/** Which images to predict: the dataset's test/ split, its train/ split, all of it, or one image. */
export const PredictScope = z.enum(['test', 'train', 'all', 'image'])

export const PredictRequest = z.strictObject({
  runId: RunId,
  /** Default: best, else last. */
  checkpoint: z.enum(['best', 'last']).optional(),
  datasetId: DatasetId,
  scope: PredictScope,
  /** With scope `image`. */
  imageId: ImageId.optional(),
  /** Horizontal-flip test-time augmentation. */
  tta: z.boolean().optional(),
  merge: z.enum(['nms', 'wbf']).optional(),
  /** Where study rows come from (default: the run's, see main/ml/predict/study-level.ts). */
  studyFrom: z.enum(STUDY_FROM_CHOICES).optional(),
  /** Inference runtime; default auto (ONNX Runtime when it loads in the worker, else tfjs). */
  runtime: z.enum(RUNTIME_CHOICES).optional(),
  name: PredictionId.optional()
})

export const PredictionStarted = z.object({ jobId: z.string(), predictionId: PredictionId, path: z.string() })

/** The headline figures of the competition metric. */
export const ScoreFigures = z.object({
  ap: z.record(z.enum(SCORED_CLASSES), z.number().nullable()),
  studyMap: z.number().nullable(),
  imageMap: z.number().nullable(),
  final: z.number().nullable()
})

export const PredictionSummary = z.object({
  predictionId: PredictionId,
  /** The folder holding predictions.json (the same format `cxr-studio predict --out` writes). */
  path: z.string(),
  createdAt: z.string(),
  run: z.object({ runId: RunId, path: z.string(), name: z.string() }),
  checkpoint: z.object({ name: z.enum(['best', 'last']), epoch: z.number().int() }),
  /** An imported run's ONNX model (then `checkpoint` is only a placeholder). */
  model: ImportedModelInfo.nullable().optional(),
  dataset: z.object({ datasetId: DatasetId, root: z.string(), name: z.string() }),
  scope: PredictScope,
  imageId: z.string().nullable(),
  settings: z.object({ flipTta: z.boolean(), merge: z.enum(['nms', 'wbf']), scoreThreshold: z.number() }),
  backend: z.string(),
  images: z.number().int(),
  studies: z.number().int(),
  boxes: z.number().int(),
  /** Files that could not be read (they get neutral rows in a submission). */
  errors: z.number().int(),
  /** Where its ground truth comes from, when the predicted images have one. */
  truth: z.object({ source: z.string(), images: z.number().int() }).nullable(),
  /** The competition metric on that truth (the Evaluation view has the details). */
  score: ScoreFigures.nullable()
})

/** A row of a submission CSV that could not be read, by line number. */
export const RowError = z.object({ line: z.number().int(), message: z.string() })

/** The viewer's prediction layer: what is loaded, from where, and what could not be read. */
export const PredictionsSummary = z.object({
  kind: z.enum(['submission-csv', 'prediction']),
  /** The CSV file, or the stored prediction's folder. */
  source: z.string(),
  name: z.string(),
  predictionId: PredictionId.nullable(),
  images: z.number().int().nonnegative(),
  boxes: z.number().int().nonnegative(),
  studies: z.number().int().nonnegative(),
  /** Malformed rows of a submission CSV, with line numbers; the other rows are loaded. */
  rowErrors: z.array(RowError)
})

/** What the layer says about one image: its boxes and `none` score, and its study's probabilities. */
export const ImagePredictions = z.object({
  boxes: z.array(Prediction),
  /** Confidence that the image has no opacity, when the layer has it. */
  none: z.number().nullable(),
  study: z
    .object({ studyId: z.string(), probabilities: z.record(z.enum(STUDY_CLASSES), z.number()) })
    .nullable()
})

/** The whole layer at once, compact, for the studies list to sort and filter by (boxes: x1 y1 x2 y2 score). */
export const PredictionTable = z.object({
  layer: PredictionsSummary.nullable(),
  images: z.array(
    z.object({
      imageId: z.string(),
      boxes: z.array(z.tuple([z.number(), z.number(), z.number(), z.number(), z.number()])),
      none: z.number().nullable()
    })
  ),
  studies: z.array(
    z.object({ studyId: z.string(), probabilities: z.record(z.enum(STUDY_CLASSES), z.number()) })
  )
})

export const ClassCounts = z.object({
  groundTruth: z.number().int(),
  detections: z.number().int(),
  truePositives: z.number().int(),
  falsePositives: z.number().int()
})

/** Precision and recall after each detection in ranking order, thinned for drawing. */
export const PrCurve = z.object({
  confidence: z.array(z.number()),
  precision: z.array(z.number()),
  recall: z.array(z.number())
})

export const Evaluation = z.object({
  predictionId: PredictionId,
  truthSource: z.string(),
  report: ScoreFigures.extend({
    classes: z.record(z.enum(SCORED_CLASSES), ClassCounts),
    truthIds: z.number().int(),
    scoredRows: z.number().int(),
    /** Truth ids without a prediction (scored as misses). */
    missingIds: z.number().int(),
    warnings: z.array(z.string())
  }),
  /** The metric when detections below `threshold` are dropped (the AP of a shortened ranking). */
  atThreshold: ScoreFigures.extend({ threshold: z.number() }),
  curves: z.record(z.enum(SCORED_CLASSES), PrCurve),
  /** Studies by truth (rows) and the predicted class of highest probability (columns), STUDY_CLASSES order. */
  confusion: z.object({
    classes: z.array(z.enum(STUDY_CLASSES)),
    matrix: z.array(z.array(z.number().int()))
  }),
  /** Confidence histograms per class, true and false positives apart; `edges` has one more entry than each count list. */
  histograms: z.object({
    edges: z.array(z.number()),
    classes: z.record(
      z.enum(SCORED_CLASSES),
      z.object({ truePositives: z.array(z.number().int()), falsePositives: z.array(z.number().int()) })
    )
  })
})

/** An output path typed in the Export view, checked before anything is written. */
export const OutputCheck = z.object({
  path: z.string(),
  exists: z.boolean(),
  /** Why nothing may be written there (inside a dataset, not a folder, not writable…), or null. */
  problem: z.string().nullable(),
  /** A free default location in the workspace, for the form. */
  suggestion: z.string()
})

const exportCommon = {
  /** Absolute path of the file or folder to write. */
  out: z.string().min(1).max(4096),
  /** Replace what is there (the view asks the user first). */
  overwrite: z.boolean().optional()
}

export const ExportDatasetRequest = z.strictObject({
  datasetId: DatasetId,
  format: z.enum(['coco', 'yolo']),
  valFraction: z.number().min(0).lt(1).optional(),
  seed: z.number().int().optional(),
  policy: z.enum(FILTER_POLICIES).optional(),
  /** COCO only: one opacity category, or the study class of each box. */
  categories: z.enum(['opacity', 'study']).optional(),
  /** COCO: none, png8 or png16; YOLO always writes images (png8 unless png16). */
  images: z.enum(['none', 'png8', 'png16']).optional(),
  size: z.number().int().min(32).max(8192).optional(),
  /** Also the test/ split's images, unlabelled (YOLO: images/test and `test:`; COCO: test.json). */
  test: z.boolean().optional(),
  /** Hand-off recipes beside the export (YOLO: train-ultralytics.sh; COCO: train_torchvision.py; README.md); default on. */
  recipes: z.boolean().optional(),
  ...exportCommon
})

export const ExportPredictionRequest = z.strictObject({
  format: z.enum(['coco-results', 'submission']),
  /** From a stored prediction… */
  predictionId: PredictionId.optional(),
  /** …or (submission) straight from a run on a dataset's test split. */
  runId: RunId.optional(),
  checkpoint: z.enum(['best', 'last']).optional(),
  datasetId: DatasetId.optional(),
  ...exportCommon
})

export const ExportStarted = z.object({ jobId: z.string(), out: z.string() })

/** The result of an export job (JobInfo.result). */
export const ExportResult = z.object({
  out: z.string(),
  files: z.array(z.string()),
  /** What was written, in a few lines (as the CLI prints it). */
  summary: z.array(z.string()),
  warnings: z.array(z.string()),
  /** A dataset export's recipe commands (train on one or many GPUs, export ONNX, import the model back). */
  recipes: z.array(z.object({ label: z.string(), command: z.string() })).optional()
})

export type PredictScope = z.infer<typeof PredictScope>
export type PredictRequest = z.infer<typeof PredictRequest>
export type PredictionStarted = z.infer<typeof PredictionStarted>
export type ScoreFigures = z.infer<typeof ScoreFigures>
export type PredictionSummary = z.infer<typeof PredictionSummary>
export type RowError = z.infer<typeof RowError>
export type PredictionsSummary = z.infer<typeof PredictionsSummary>
export type ImagePredictions = z.infer<typeof ImagePredictions>
export type PredictionTable = z.infer<typeof PredictionTable>
export type Evaluation = z.infer<typeof Evaluation>
export type OutputCheck = z.infer<typeof OutputCheck>
export type ExportDatasetRequest = z.infer<typeof ExportDatasetRequest>
export type ExportPredictionRequest = z.infer<typeof ExportPredictionRequest>
export type ExportStarted = z.infer<typeof ExportStarted>
export type ExportResult = z.infer<typeof ExportResult>
