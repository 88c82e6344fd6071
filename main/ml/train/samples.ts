// The validation samples a run shows after every epoch: a fixed few validation images, up to two per
// study class, with their truth beside the epoch's prediction. Fixed, so a reader sees the same
// images improve from epoch to epoch and after a resume.
import type { ImageLabel } from '../../../common/dataset'
import { STUDY_CLASSES } from '../../../common/domain'
import { seededRng, shuffled } from '../data/random'
import type { ImageSample } from '../data/samples'
import type { SamplesEvent } from './events'
import type { ValidationResult } from './validate'

/** Images per study class (four classes: at most eight images). */
const PER_CLASS = 2
/** Predicted boxes shown per image, the most confident. */
const BOXES_PER_IMAGE = 10

/**
 * Up to PER_CLASS images of each study class from the validation split, drawn by the run's seed from
 * the images sorted by id (so neither the dataset's order nor a resume changes them), each from a
 * different study. Images of unlabelled studies have no class to show and are left out.
 */
export function pickSampleImages(val: readonly ImageSample[], seed: number): ImageSample[] {
  const sorted = [...val].sort((a, b) => (a.imageId < b.imageId ? -1 : a.imageId > b.imageId ? 1 : 0))
  const order = shuffled(sorted, seededRng(seed, 'samples'))
  const picked: ImageSample[] = []
  for (const cls of STUDY_CLASSES) {
    const studies = new Set<string>()
    for (const sample of order) {
      if (studies.size === PER_CLASS) break
      if (sample.studyClass !== cls || studies.has(sample.studyId)) continue
      studies.add(sample.studyId)
      picked.push(sample)
    }
  }
  return picked
}

/** The picked images as predicted by this epoch's validation (boxes and study probabilities as scored). */
export function samplesEvent(
  epoch: number,
  datasetRoot: string,
  picked: readonly ImageSample[],
  truth: readonly ImageLabel[],
  validation: ValidationResult
): SamplesEvent {
  const predictions = new Map(validation.images.map((image) => [image.imageId, image]))
  const studies = new Map(validation.studies.map((study) => [study.studyId, study.probabilities]))
  const labels = new Map(truth.map((label) => [label.imageId, label]))
  const images: SamplesEvent['images'] = []
  for (const sample of picked) {
    const prediction = predictions.get(sample.imageId)
    const studyProbs = studies.get(sample.studyId)
    if (!prediction || !studyProbs) continue
    images.push({
      imageId: sample.imageId,
      studyId: sample.studyId,
      path: sample.relPath,
      width: sample.width,
      height: sample.height,
      truthClass: sample.studyClass,
      truthBoxes: labels.get(sample.imageId)?.boxes ?? sample.boxes,
      boxes: prediction.boxes.slice(0, BOXES_PER_IMAGE),
      none: prediction.none,
      studyProbs
    })
  }
  return { epoch, datasetRoot, images }
}
