// An opened dataset as the UI sees it: the merged Dataset plus the lookups and list rows built once.
import { basename, join } from 'node:path'
import type { Dataset, DatasetImage, FilterPolicy } from '../../../common/dataset'
import type { DatasetSummary, ImageRow } from '../../../common/contract'
import type { PredictionLayer } from '../viewer/predictions'
import { DEFAULT_POLICY, explainPolicy } from '../../core/dataset'
import { FileReadError } from '../../core/errors'
import { labelRules } from '../../core/quality/rules'
import { datasetCacheDir } from '../../core/workspace'

/** What the viewer can be asked to show: a file that was indexed, or one that could not be read. */
export type ImageEntry =
  | { kind: 'file'; image: DatasetImage; path: string }
  | { kind: 'unreadable'; imageId: string; path: string; reason: string }

export class DatasetSession {
  readonly datasetId: string
  readonly name: string
  policy: FilterPolicy = DEFAULT_POLICY
  /** The viewer's prediction layer (a submission CSV or a stored prediction), or null. */
  layer: PredictionLayer | null = null
  private readonly entries = new Map<string, ImageEntry>()
  private rows: ImageRow[] | null = null

  constructor(
    readonly dataset: Dataset,
    readonly workspace: string
  ) {
    this.datasetId = datasetIdOf(workspace, dataset.root)
    this.name = basename(dataset.root) || dataset.root
    for (const image of dataset.images) {
      if (image.record && !this.entries.has(image.imageId))
        this.entries.set(image.imageId, { kind: 'file', image, path: image.record.path })
    }
    for (const error of dataset.fileErrors) {
      const imageId = unreadableId(error.path)
      if (!this.entries.has(imageId))
        this.entries.set(imageId, { kind: 'unreadable', imageId, path: error.path, reason: error.reason })
    }
  }

  get cacheDir(): string {
    return datasetCacheDir(this.workspace, this.dataset.root)
  }

  /** The file behind an image id, as an absolute path; unknown ids and unreadable files are user errors. */
  file(imageId: string): { image: DatasetImage; absPath: string } {
    const entry = this.entries.get(imageId)
    if (!entry) throw new FileReadError(imageId, `no image with this id in ${this.dataset.root}`)
    if (entry.kind === 'unreadable') throw new FileReadError(entry.path, entry.reason)
    return { image: entry.image, absPath: join(this.dataset.root, entry.path) }
  }

  setPolicy(policy: FilterPolicy): void {
    this.policy = policy
    this.rows = null
  }

  summary(): DatasetSummary {
    const { dataset } = this
    const files = dataset.images.filter((image) => image.record)
    return {
      datasetId: this.datasetId,
      root: dataset.root,
      name: this.name,
      kaggleLayout: dataset.kaggleLayout,
      studies: dataset.studies.length,
      images: files.length,
      trainImages: files.filter((image) => image.split === 'train').length,
      testImages: files.filter((image) => image.split === 'test').length,
      imagesWithBoxes: files.filter((image) => (image.label?.boxes.length ?? 0) > 0).length,
      fileErrors: dataset.fileErrors.length,
      labelErrors: dataset.labelErrors.length,
      policy: this.policy
    }
  }

  /** Every file (readable or not) plus CSV rows without a file, in dataset order. */
  imageRows(): ImageRow[] {
    if (this.rows) return this.rows
    const { dataset } = this
    const flags = new Map<string, Set<string>>()
    for (const found of labelRules(dataset)) {
      if (!found.imageId) continue
      const set = flags.get(found.imageId) ?? new Set<string>()
      set.add(found.rule)
      flags.set(found.imageId, set)
    }
    const dropped = new Set(explainPolicy(dataset, this.policy).dropped.map(({ image }) => image))
    const studyLabels = new Map(dataset.studies.map((study) => [study.studyId, study.label?.label ?? null]))
    const rows: ImageRow[] = dataset.images.map((image) => ({
      imageId: image.imageId,
      studyId: image.studyId,
      seriesId: image.seriesId,
      split: image.split,
      path: image.record?.path ?? null,
      rows: image.record?.rows ?? null,
      columns: image.record?.columns ?? null,
      bitsStored: image.record?.bitsStored ?? null,
      photometric: image.record?.photometric ?? null,
      transferSyntaxUid: image.record?.transferSyntaxUid ?? null,
      studyLabel: studyLabels.get(image.studyId) ?? null,
      labelled: image.label !== null,
      boxes: image.label?.boxes ?? [],
      flags: [...(flags.get(image.imageId) ?? [])],
      excluded: dropped.has(image),
      error: image.record ? null : 'no DICOM file for this row of train_image_level.csv'
    }))
    for (const error of dataset.fileErrors) {
      const parts = error.path.split('/')
      rows.push({
        imageId: unreadableId(error.path),
        studyId: parts.length >= 3 ? parts[parts.length - 3] : '',
        seriesId: parts.length >= 2 ? parts[parts.length - 2] : '',
        split: /^test\//i.test(error.path) ? 'test' : 'train',
        path: error.path,
        rows: null,
        columns: null,
        bitsStored: null,
        photometric: null,
        transferSyntaxUid: null,
        studyLabel: null,
        labelled: false,
        boxes: [],
        flags: ['unreadable-file'],
        excluded: true,
        error: error.reason
      })
    }
    this.rows = rows
    return rows
  }
}

/** The same key as the dataset's cache folder in the workspace. */
export function datasetIdOf(workspace: string, root: string): string {
  return basename(datasetCacheDir(workspace, root))
}

function unreadableId(path: string): string {
  return (path.split('/').pop() ?? path).replace(/\.dcm$/i, '') || path
}
