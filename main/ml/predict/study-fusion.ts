// A run's study regressions (`box-evidence` and `fused`), fitted on its own labelled images and kept
// in <run>/study-fusion.json: predict the run's dataset with its best checkpoint, take per study the
// box features (and the head's probabilities), and fit a multinomial logistic regression per mode
// (study-evidence.ts). The file is written atomically; prediction reads it for those two modes.
import { STUDY_CLASSES } from '../../../common/domain'
import { writeJsonAtomic } from '../../core/fs-atomic'
import { readRunConfig } from '../runs/run-folder'
import type { RunConfigFile } from '../train/trainer'
import type { ImagePredictionRecord } from './predict-images'
import { runPrediction, type PredictContext, type PredictOptions, type PredictionSet } from './run'
import {
  calibration,
  featureNames,
  fitSoftmax,
  softmaxProbabilities,
  studyFeatures,
  type EvidenceKind
} from './study-evidence'
import {
  STUDY_FUSION_FORMAT,
  STUDY_FUSION_VERSION,
  studyFusionPath,
  type StudyFusionFile
} from './study-fusion-file'
import { chooseTruth, trainedOnOf } from './truth-choice'

export type FitStudyFusionOptions = Pick<
  PredictOptions,
  'run' | 'dicomDir' | 'workspace' | 'checkpoint' | 'backend' | 'runtime' | 'batchSize'
>

/** Predicts every labelled image of the run's dataset, fits both regressions and writes study-fusion.json. */
export async function fitStudyFusion(
  options: FitStudyFusionOptions,
  ctx: PredictContext = {}
): Promise<{ path: string; file: StudyFusionFile; predictions: PredictionSet }> {
  const config = await readRunConfig<RunConfigFile>(options.run)
  const truth = await chooseTruth(options, 'all', trainedOnOf(config))
  const set = await runPrediction(
    {
      ...options,
      split: truth.split,
      imageIds: truth.images.map((i) => i.imageId),
      settings: { studyFrom: 'combined' }
    },
    ctx
  )
  const labels = new Map(truth.studies.map((s) => [s.studyId, s.label]))
  const byStudy = groupByStudy(set.images)
  const labelled = [...byStudy.entries()]
    .map(([studyId, images]) => ({ images, label: labels.get(studyId) ?? null }))
    .filter(
      (s): s is { images: ImagePredictionRecord[]; label: NonNullable<typeof s.label> } => s.label !== null
    )
  const fit = (kind: EvidenceKind) => {
    const rows = labelled.map((s) => ({
      x: studyFeatures(s.images, kind),
      label: STUDY_CLASSES.indexOf(s.label)
    }))
    const report = fitSoftmax(featureNames(kind), rows)
    const fitted = calibration(
      rows.map((r) => ({ probabilities: softmaxProbabilities(report.model, r.x), label: r.label }))
    )
    return {
      model: report.model,
      report: { crossValidation: report.crossValidation, fitLogLoss: report.fitLogLoss, fitEce: fitted.ece }
    }
  }
  const boxEvidence = fit('box-evidence')
  const fused = fit('fused')
  const perClass = Object.fromEntries(
    STUDY_CLASSES.map((c) => [c, labelled.filter((s) => s.label === c).length])
  )
  const file: StudyFusionFile = {
    format: STUDY_FUSION_FORMAT,
    version: STUDY_FUSION_VERSION,
    createdAt: new Date().toISOString(),
    checkpoint: {
      name: set.checkpoint.name,
      epoch: set.checkpoint.epoch,
      globalStep: set.checkpoint.globalStep
    },
    fittedOn: { source: truth.source, studies: labelled.length, images: set.images.length, perClass },
    models: { 'box-evidence': boxEvidence.model, fused: fused.model },
    reports: { 'box-evidence': boxEvidence.report, fused: fused.report }
  }
  const path = studyFusionPath(options.run)
  await writeJsonAtomic(path, file)
  return { path, file, predictions: set }
}

function groupByStudy(images: readonly ImagePredictionRecord[]): Map<string, ImagePredictionRecord[]> {
  const out = new Map<string, ImagePredictionRecord[]>()
  for (const image of images) {
    const group = out.get(image.studyId)
    if (group) group.push(image)
    else out.set(image.studyId, [image])
  }
  return out
}
