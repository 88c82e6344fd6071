// Reading predictions.json (written by `cxr-studio predict --out` and by the Predict view): checked
// against a schema, so a hand-edited or foreign file is a clear error, never a crash in a view.
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { STUDY_CLASSES } from '../../../common/domain'
import { PredictedBox } from '../../../common/contract'
import { ImportedModelInfo } from '../../../common/contract/imported'
import { InferenceRuntimeInfo } from '../../../common/contract/training'
import { UserError, errorMessage } from '../../core/errors'
import { PREDICTIONS_FORMAT } from '../../ml/predict/outputs'

const Probabilities = z.record(z.enum(STUDY_CLASSES), z.number())

export const PredictionsDocument = z.object({
  format: z.literal(PREDICTIONS_FORMAT),
  formatVersion: z.literal(1),
  createdAt: z.string(),
  run: z.string(),
  checkpoint: z.object({
    name: z.enum(['best', 'last']),
    epoch: z.number().int(),
    globalStep: z.number().int()
  }),
  /** An imported run's ONNX model (then `checkpoint` is a placeholder). */
  model: ImportedModelInfo.optional(),
  dataset: z.string(),
  backend: z.object({ name: z.string(), device: z.string() }),
  /** What ran inference (files written before ONNX Runtime support have only `backend`). */
  runtime: InferenceRuntimeInfo.optional(),
  settings: z.looseObject({
    flipTta: z.boolean(),
    merge: z.enum(['nms', 'wbf']),
    scoreThreshold: z.number()
  }),
  images: z.array(
    z.object({
      imageId: z.string(),
      studyId: z.string(),
      path: z.string(),
      width: z.number(),
      height: z.number(),
      boxes: z.array(PredictedBox),
      none: z.number(),
      studyProbs: Probabilities
    })
  ),
  studies: z.array(
    z.object({ studyId: z.string(), imageIds: z.array(z.string()), probabilities: Probabilities })
  ),
  errors: z.array(z.object({ path: z.string(), reason: z.string() }))
})
export type PredictionsDocument = z.infer<typeof PredictionsDocument>

export async function readPredictionsDocument(file: string): Promise<PredictionsDocument> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UserError(
      code === 'ENOENT'
        ? `${file}: missing`
        : `${file}: not a readable predictions file (${code ?? errorMessage(err)})`
    )
  }
  const parsed = PredictionsDocument.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new UserError(
      `${file}: not a CXR Studio predictions file (${issue.path.join('.') || 'file'}: ${issue.message})`
    )
  }
  return parsed.data
}
