// Filter policies: which labelled train images exports and training keep from each study.
import type { Dataset, DatasetImage, FilterPolicy } from '../../../common/dataset'

export const DEFAULT_POLICY: FilterPolicy = 'keep-boxed'

/** What each policy keeps, in words for --help and the UI. */
export const POLICY_DESCRIPTIONS: Record<FilterPolicy, string> = {
  'keep-boxed':
    "in a study with boxed images keep only those; a study without boxed images keeps all its images (the organisers' rule)",
  'keep-most-boxes': 'keep one image per study: the one with the most boxes (ties: the smallest imageId)',
  'keep-all': 'keep every labelled train image'
}

export interface PolicyDrop {
  image: DatasetImage
  reason: string
}

export interface PolicyOutcome {
  kept: DatasetImage[]
  dropped: PolicyDrop[]
}

/**
 * The candidates of every policy are the train images that have both a readable file and a row in
 * train_image_level.csv (nothing else can be exported or trained on). Policies then choose among
 * the candidates of each study (grouped by the file's studyId):
 * - `keep-boxed`: if any candidate has at least one box, keep exactly the candidates with boxes;
 *   otherwise keep all of them (negative studies and positive studies nobody boxed).
 * - `keep-most-boxes`: keep the single candidate with the most boxes; ties go to the smallest
 *   imageId (string order), so a study without boxes keeps its first image by imageId.
 * - `keep-all`: keep every candidate.
 * Images that are not candidates are neither kept nor listed as dropped.
 */
export function explainPolicy(dataset: Dataset, policy: FilterPolicy): PolicyOutcome {
  const byStudy = new Map<string, DatasetImage[]>()
  for (const image of dataset.images) {
    if (image.split !== 'train' || !image.record || !image.label) continue
    const group = byStudy.get(image.studyId)
    if (group) group.push(image)
    else byStudy.set(image.studyId, [image])
  }

  const keep = new Set<DatasetImage>()
  const dropped: PolicyDrop[] = []
  for (const group of byStudy.values()) {
    const boxed = group.filter((image) => boxCount(image) > 0)
    if (policy === 'keep-all' || group.length === 1) {
      group.forEach((image) => keep.add(image))
    } else if (policy === 'keep-boxed') {
      const chosen = boxed.length > 0 ? boxed : group
      for (const image of group) {
        if (chosen.includes(image)) keep.add(image)
        else
          dropped.push({
            image,
            reason: `no boxes; study ${image.studyId} has ${boxed.length} boxed image(s)`
          })
      }
    } else {
      const best = [...group].sort(
        (a, b) => boxCount(b) - boxCount(a) || (a.imageId < b.imageId ? -1 : a.imageId > b.imageId ? 1 : 0)
      )[0]
      keep.add(best)
      for (const image of group) {
        if (image !== best)
          dropped.push({
            image,
            reason: `${boxCount(image)} box(es); study ${image.studyId} keeps ${best.imageId} with ${boxCount(best)}`
          })
      }
    }
  }
  // Dataset order, so exports are stable whatever the policy.
  return { kept: dataset.images.filter((image) => keep.has(image)), dropped }
}

/** The labelled train images that exports and training use under `policy` (see explainPolicy). */
export function applyPolicy(dataset: Dataset, policy: FilterPolicy = DEFAULT_POLICY): DatasetImage[] {
  return explainPolicy(dataset, policy).kept
}

function boxCount(image: DatasetImage): number {
  return image.label?.boxes.length ?? 0
}
