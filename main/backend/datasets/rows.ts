// The studies list of an open dataset: one row per image of the Dataset (files and CSV rows) and
// one per unreadable file, with the quality findings, policy and truth each row shows.
import type { Dataset, DatasetImage, FilterPolicy } from '../../../common/dataset'
import type { FileError } from '../../../common/domain'
import type { ImageRow } from '../../../common/contract'
import { explainPolicy, kagglePathIds, splitOf, type TestTruth } from '../../core/dataset'
import { imageFindings, type QualityIssue } from '../../core/quality'

export interface RowInputs {
  policy: FilterPolicy
  /** The findings the quality list shows (label rules, plus the pixel check once it ran). */
  issues: readonly QualityIssue[]
  /** Held-out truth of the test split, when the folder has it. */
  testTruth: TestTruth | null
  /** The list id of every unreadable file (see unreadableIds). */
  unreadableIds: ReadonlyMap<string, string>
}

/** Every image of the dataset in dataset order, then every unreadable file that is not one of them. */
export function buildImageRows(dataset: Dataset, inputs: RowInputs): ImageRow[] {
  const findings = imageFindings(inputs.issues)
  const dropped = new Set(explainPolicy(dataset, inputs.policy).dropped.map(({ image }) => image))
  const studyLabels = new Map(dataset.studies.map((study) => [study.studyId, study.label?.label ?? null]))
  const studyImages = new Map(dataset.studies.map((study) => [study.studyId, study.imageIds.length]))
  const truth = inputs.testTruth

  const imageRow = (image: DatasetImage): ImageRow => {
    const { record, fileError } = image
    // a test image's truth is the held-out CSV's (a train row that names a test file still wins)
    const label = image.label ?? (image.split === 'test' ? (truth?.images.get(image.imageId) ?? null) : null)
    const studyLabel =
      studyLabels.get(image.studyId) ??
      (image.split === 'test' ? (truth?.studies.get(image.studyId)?.label ?? null) : null)
    // a file's findings name its path; a CSV row without a readable file is named by its imageId
    const flags = record
      ? (findings.byPath.get(record.path) ?? [])
      : [
          ...(findings.byImageId.get(image.imageId) ?? []),
          ...((fileError && findings.byPath.get(fileError.path)) || [])
        ]
    return {
      imageId: image.imageId,
      studyId: image.studyId,
      seriesId: image.seriesId,
      split: image.split,
      path: record?.path ?? fileError?.path ?? null,
      rows: record?.rows ?? null,
      columns: record?.columns ?? null,
      bitsStored: record?.bitsStored ?? null,
      photometric: record?.photometric ?? null,
      transferSyntaxUid: record?.transferSyntaxUid ?? null,
      studyLabel,
      labelled: label !== null,
      boxes: label?.boxes ?? [],
      studyImages: studyImages.get(image.studyId) ?? null,
      flags,
      excluded: dropped.has(image),
      error: record
        ? null
        : (fileError?.reason ??
          `no DICOM file for this row of ${dataset.labelFiles.image ?? 'the image CSV'}`)
    }
  }

  // a CSV row whose file is broken is already a row (with that file's error): not listed twice
  const covered = new Set(dataset.images.flatMap((image) => image.fileError?.path ?? []))
  const unreadableRow = (error: FileError): ImageRow => {
    // its study and series only when the Kaggle path names them; nothing in a broken header can
    const ids = kagglePathIds(error.path)
    return {
      imageId: inputs.unreadableIds.get(error.path)!,
      studyId: ids?.studyId ?? '',
      seriesId: ids?.seriesId ?? '',
      split: splitOf(error.path),
      path: error.path,
      rows: null,
      columns: null,
      bitsStored: null,
      photometric: null,
      transferSyntaxUid: null,
      studyLabel: null,
      labelled: false,
      boxes: [],
      studyImages: null,
      flags: findings.byPath.get(error.path) ?? [],
      // the policy chooses among readable labelled images: an unreadable file is not one it dropped
      excluded: false,
      error: error.reason
    }
  }

  return [
    ...dataset.images.map(imageRow),
    ...dataset.fileErrors.filter((error) => !covered.has(error.path)).map(unreadableRow)
  ]
}

/**
 * A list id for every unreadable file: its name without `.dcm` (the imageId in the Kaggle layout),
 * or, when an image or another unreadable file already has that id, the name with a counter.
 */
export function unreadableIds(dataset: Dataset): Map<string, string> {
  const taken = new Set(dataset.images.map((image) => image.imageId))
  // the broken file of a CSV row is listed as that row, under its imageId
  const ids = new Map<string, string>(
    dataset.images.flatMap((image): Array<[string, string]> =>
      image.fileError ? [[image.fileError.path, image.imageId]] : []
    )
  )
  for (const error of dataset.fileErrors) {
    if (ids.has(error.path)) continue
    // an id is a lookup key and never a path: no separators or control characters
    const name = (error.path.split('/').pop() ?? '').replace(/\.dcm$/i, '').replace(/[\u0000-\u001f\\]/g, '_')
    const stem = name.slice(0, 200) || 'unreadable'
    let id = stem
    for (let n = 2; taken.has(id); n++) id = `${stem}~${n}`
    taken.add(id)
    ids.set(error.path, id)
  }
  return ids
}
