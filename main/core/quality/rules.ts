// The data-quality rules: what each checks, how serious it is, and the checks that need no pixels.
import type { Dataset, DatasetImage, DatasetStudy } from '../../../common/dataset'
import { QUALITY_RULES, type QualityRule } from '../../../common/quality'
import type { QualityIssue } from '../../../common/contract/schemas'
import { edgesBeyond, formatLabelError } from '../labels'

export { QUALITY_RULE_NAMES, QUALITY_RULES, type QualityRule } from '../../../common/quality'
export type { QualityIssue, Severity } from '../../../common/contract/schemas'

export function issue(
  rule: QualityRule,
  message: string,
  at: { imageId?: string; studyId?: string; path?: string } = {}
): QualityIssue {
  const found: QualityIssue = { rule, severity: QUALITY_RULES[rule].severity, message }
  if (at.imageId !== undefined) found.imageId = at.imageId
  if (at.studyId !== undefined) found.studyId = at.studyId
  if (at.path !== undefined) found.path = at.path
  return found
}

const where = (image: DatasetImage) => ({
  imageId: image.imageId,
  studyId: image.studyId,
  path: image.record?.path
})
const boxes = (image: DatasetImage) => image.label?.boxes ?? []
const isPositive = (study: DatasetStudy | undefined) =>
  Boolean(study?.label?.label && study.label.label !== 'negative')

/** Every rule that works from headers and labels alone (pixel-identical needs decoding; see pixel-hashes.ts). */
export function labelRules(dataset: Dataset): QualityIssue[] {
  const found: QualityIssue[] = []
  const studies = new Map(dataset.studies.map((s) => [s.studyId, s]))
  const imagesByStudy = groupBy(dataset.images, (image) => image.studyId)

  for (const error of dataset.labelErrors)
    found.push(issue('malformed-csv-row', formatLabelError(error), { path: error.file }))
  for (const error of dataset.fileErrors)
    found.push(issue('unreadable-file', `${error.path}: ${error.reason}`, { path: error.path }))

  const filesById = groupBy(
    dataset.images.filter((image) => image.record),
    (image) => image.imageId
  )
  for (const [imageId, copies] of filesById) {
    if (copies.length < 2) continue
    for (const image of copies) {
      const others = copies.filter((c) => c !== image).map((c) => c.record!.path)
      found.push(
        issue(
          'duplicate-image-id',
          `${image.record!.path}: imageId ${imageId} is also used by ${others.join(', ')}`,
          where(image)
        )
      )
    }
  }

  // one image stored twice (e.g. in two transfer syntaxes): both are listed, under distinct ids
  const filesByUid = groupBy(
    dataset.images.filter((image) => image.record?.sopInstanceUid),
    (image) => image.record!.sopInstanceUid!
  )
  for (const [uid, copies] of filesByUid) {
    if (copies.length < 2) continue
    for (const image of copies) {
      const others = copies.filter((c) => c !== image).map((c) => c.record!.path)
      found.push(
        issue(
          'duplicate-sop-instance-uid',
          `${image.record!.path}: SOP Instance UID ${uid} is also in ${others.join(', ')}`,
          where(image)
        )
      )
    }
  }

  for (const image of dataset.images) {
    const { record, label } = image
    const path = record?.path
    // a row whose file exists but is broken is already an unreadable-file finding
    if (label && !record && !image.fileError) {
      found.push(
        issue(
          'csv-row-without-file',
          `train_image_level.csv:${label.line}: no file for image ${image.imageId} of study ${image.studyId}`,
          {
            imageId: image.imageId,
            studyId: image.studyId
          }
        )
      )
    }
    if (record && !label && image.split === 'train' && dataset.labelFiles.image) {
      found.push(
        issue(
          'file-without-csv-row',
          `${path}: no row ${image.imageId}_image in ${dataset.labelFiles.image}`,
          where(image)
        )
      )
    }
    if (record && label && label.studyId !== record.studyId) {
      found.push(
        issue(
          'study-mismatch',
          `${path}: train_image_level.csv:${label.line} gives StudyInstanceUID ${label.studyId}, the file is in study ${record.studyId}`,
          where(image)
        )
      )
    }
    const study = studies.get(image.studyId)
    if (image.split === 'train' && dataset.labelFiles.study && !study?.label) {
      found.push(
        issue(
          'image-without-study-row',
          `${path ?? image.imageId}: study ${image.studyId} has no row ${image.studyId}_study`,
          where(image)
        )
      )
    }
    boxes(image).forEach((box, i) => {
      const name = `${path ?? image.imageId}: box ${i + 1}`
      if (box.width <= 0 || box.height <= 0) {
        found.push(
          issue('zero-area-box', `${name} has width ${box.width} and height ${box.height}`, where(image))
        )
      }
      if (!record) return
      const corners = { x1: box.x, y1: box.y, x2: box.x + box.width, y2: box.y + box.height }
      const outside = edgesBeyond(corners, record).map(
        ({ edge, by }) =>
          `${round(by)} px beyond the ${edge} edge${edge === 'right' ? ` (width ${record.columns})` : edge === 'bottom' ? ` (height ${record.rows})` : ''}`
      )
      if (outside.length > 0)
        found.push(issue('box-outside-image', `${name} reaches ${outside.join(', ')}`, where(image)))
    })
  }

  for (const study of dataset.studies) {
    const members = imagesByStudy.get(study.studyId) ?? []
    const labelled = members.filter((image) => image.label)
    const boxed = labelled.filter((image) => boxes(image).length > 0)
    const at = { studyId: study.studyId }
    if (study.label && members.length === 0) {
      found.push(
        issue(
          'study-row-without-images',
          `train_study_level.csv:${study.label.line}: study ${study.studyId} has no image`,
          at
        )
      )
    }
    if (members.length > 1) {
      const list = members.map(
        (image) => `${image.imageId} (${image.label ? `${boxes(image).length} box(es)` : 'no image row'})`
      )
      found.push(
        issue(
          'multi-image-study',
          `study ${study.studyId} holds ${members.length} images: ${list.join(', ')}`,
          at
        )
      )
    }
    if (boxed.length > 0) {
      for (const image of labelled) {
        if (boxes(image).length > 0) continue
        const keep = boxed.map((b) => b.imageId).join(', ')
        found.push(
          issue(
            'unlabelled-duplicate',
            `${image.record?.path ?? image.imageId}: no boxes; boxed in the same study: ${keep}`,
            where(image)
          )
        )
      }
    }
    if (isPositive(study)) {
      for (const image of labelled) {
        if (boxes(image).length > 0) continue
        found.push(
          issue(
            'positive-image-without-boxes',
            `${image.record?.path ?? image.imageId}: no boxes in study ${study.studyId} labelled '${study.label!.label}'`,
            where(image)
          )
        )
      }
      if (labelled.length > 0 && boxed.length === 0) {
        found.push(
          issue(
            'positive-study-without-boxes',
            `study ${study.studyId} is '${study.label!.label}' but none of its ${labelled.length} image row(s) has a box`,
            at
          )
        )
      }
    }
    if (study.label?.label === 'negative') {
      for (const image of boxed) {
        found.push(
          issue(
            'negative-study-with-boxes',
            `${image.record?.path ?? image.imageId}: ${boxes(image).length} box(es) in a negative study`,
            where(image)
          )
        )
      }
    }
  }
  return found
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const group = groups.get(keyOf(item))
    if (group) group.push(item)
    else groups.set(keyOf(item), [item])
  }
  return groups
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}
