// An opened dataset as the UI sees it: the merged Dataset plus the lookups and list rows built once.
import { basename, join } from 'node:path'
import type { Dataset, DatasetImage, FilterPolicy } from '../../../common/dataset'
import type { DatasetSummary, ImageRow } from '../../../common/contract'
import type { PredictionLayer } from '../viewer/predictions'
import { DEFAULT_POLICY, type TestTruth } from '../../core/dataset'
import { FileReadError } from '../../core/errors'
import type { QualityReport } from '../../core/quality'
import { labelRules, type QualityIssue } from '../../core/quality/rules'
import { datasetCacheDir } from '../../core/workspace'
import { buildImageRows, unreadableIds } from './rows'

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
  private readonly unreadableIds: Map<string, string>
  private rows: ImageRow[] | null = null
  /** The findings the quality list last showed; the list's flags come from them (label rules until a report). */
  private findings: { issues: QualityIssue[]; pixelsChecked: boolean } | null = null

  constructor(
    readonly dataset: Dataset,
    readonly workspace: string,
    /** Held-out truth of the test split (test_*_level.csv beside test/), when the folder has it. */
    readonly testTruth: TestTruth | null = null
  ) {
    this.datasetId = datasetIdOf(workspace, dataset.root)
    this.name = basename(dataset.root) || dataset.root
    for (const image of dataset.images) {
      if (image.record && !this.entries.has(image.imageId))
        this.entries.set(image.imageId, { kind: 'file', image, path: image.record.path })
    }
    this.unreadableIds = unreadableIds(dataset)
    for (const error of dataset.fileErrors) {
      const imageId = this.unreadableIds.get(error.path)!
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

  /**
   * Keeps the findings of a quality report for the list's flags, so the studies list flags exactly
   * the images the quality list names. A report without the pixel check never replaces one with it.
   */
  recordQuality(report: Pick<QualityReport, 'issues' | 'pixelCheck'>): void {
    if (this.findings?.pixelsChecked && !report.pixelCheck.ran) return
    this.findings = { issues: report.issues, pixelsChecked: report.pixelCheck.ran }
    this.rows = null
  }

  /** Every image of the dataset (files and CSV rows without a file), then every unreadable file. */
  imageRows(): ImageRow[] {
    this.rows ??= buildImageRows(this.dataset, {
      policy: this.policy,
      issues: this.findings?.issues ?? labelRules(this.dataset),
      testTruth: this.testTruth,
      unreadableIds: this.unreadableIds
    })
    return this.rows
  }
}

/** The same key as the dataset's cache folder in the workspace. */
export function datasetIdOf(workspace: string, root: string): string {
  return basename(datasetCacheDir(workspace, root))
}
