// Wire schemas of models trained elsewhere: an ONNX detector imported as a run of kind `imported`
// (main/ml/imported), as the Runs view lists it, as a prediction names it, and the import request.
import { z } from 'zod'
import { FolderPath } from './schemas'
import { FieldError, RunName, RunSummary } from './training'

export const IMPORTED_FORMATS = ['yolov5', 'yolov8', 'torchvision'] as const
export const ImportedFormat = z.enum(IMPORTED_FORMATS)

/** What predicted, in place of a trained checkpoint. */
export const ImportedModelInfo = z.object({
  kind: z.literal('imported'),
  format: ImportedFormat,
  /** The file name the model was imported from, and its sha256. */
  source: z.string(),
  sha256: z.string(),
  inputSize: z.number().int(),
  /** Study classes from the boxes (box-majority rule) or from a study classifier ONNX. */
  study: z.enum(['box-majority', 'study-model'])
})

/** A file typed by the user; the back end checks it exists and is a readable file. */
export const ModelPath = FolderPath

export const ImportModelRequest = z.strictObject({
  /** The ONNX detector. */
  model: ModelPath,
  format: ImportedFormat,
  /** The run's folder name under the workspace's runs/ folder. */
  name: RunName,
  /** `opacity`, `0=opacity`, `0=opacity,2=opacity` or names in model order; default every class. */
  classes: z.string().max(400).optional(),
  /** A study-level classifier ONNX (4 study-class outputs, optionally `none`). */
  studyModel: ModelPath.optional(),
  /** The square input side, when the model does not fix it. */
  inputSize: z.number().int().min(32).max(4096).optional()
})

/** Which field of the import form a refusal is about (shown next to it), or none. */
export const ImportModelField = z.enum(['model', 'format', 'name', 'classes', 'studyModel', 'inputSize'])

/** The run made, or the refusals, each next to the field it is about. */
export const ImportModelResult = z.object({ run: RunSummary.nullable(), errors: z.array(FieldError) })

export type ImportedFormat = z.infer<typeof ImportedFormat>
export type ImportedModelInfo = z.infer<typeof ImportedModelInfo>
export type ImportModelRequest = z.infer<typeof ImportModelRequest>
export type ImportModelField = z.infer<typeof ImportModelField>
export type ImportModelResult = z.infer<typeof ImportModelResult>
