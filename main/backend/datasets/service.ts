// Datasets the UI opened: indexing (a job with progress), the recent list, the demo, and the session
// of each open dataset (its merged labels, list rows and filter policy).
import { UserError } from '../../core/errors'
import { openDataset, readTestTruth } from '../../core/dataset'
import type { Dataset } from '../../../common/dataset'
import type { DatasetSummary } from '../../../common/contract'
import type { JobService } from '../jobs/job-service'
import type { ImageDecoder } from '../viewer/pixels'
import { ensureDemoDataset } from './demo'
import { RecentDatasets } from './recent'
import { datasetIdOf, DatasetSession } from './session'

export interface DatasetServiceOptions {
  workspace: string
  jobs: JobService
  /** The decode pool, started (and its codecs loaded) as soon as a dataset opens. */
  decoder: () => Promise<ImageDecoder>
  logError: (message: string) => void
}

export class DatasetService {
  readonly recent: RecentDatasets
  private readonly sessions = new Map<string, DatasetSession>()
  private readonly opening = new Map<string, Promise<DatasetSession>>()

  constructor(private readonly options: DatasetServiceOptions) {
    this.recent = new RecentDatasets(options.workspace)
  }

  /**
   * Indexes (or reuses the cached index of) `root`; a second open of the same folder waits for the
   * first. A folder without a single DICOM file is a user error and never joins the recent list.
   */
  async open(root: string, jobId?: string): Promise<DatasetSummary> {
    const { workspace, jobs } = this.options
    const datasetId = datasetIdOf(workspace, root)
    let pending = this.opening.get(datasetId)
    if (!pending) {
      pending = jobs.start(
        { kind: 'open-dataset', title: `Indexing ${root}`, jobId, meta: { datasetId, root } },
        async ({ onProgress, signal }) => {
          let filesLookedAt = 0
          const dataset = await openDataset(root, {
            workspace,
            signal,
            onProgress: (progress) => {
              if (progress.stage === 'index') filesLookedAt = progress.total
              onProgress(progress)
            }
          })
          requireDicomFiles(dataset, filesLookedAt)
          const testTruth = await readTestTruth(root)
          for (const problem of testTruth?.problems ?? []) this.options.logError(`${root}: ${problem}`)
          return new DatasetSession(dataset, workspace, testTruth)
        }
      ).result
      this.opening.set(datasetId, pending)
      pending.finally(() => this.opening.delete(datasetId)).catch(() => undefined)
    }
    const session = await pending
    this.sessions.set(session.datasetId, session)
    this.warmDecoders(session)
    const summary = session.summary()
    await this.recent.add({
      datasetId: summary.datasetId,
      root: summary.root,
      name: summary.name,
      openedAt: Date.now(),
      images: summary.images
    })
    return summary
  }

  /** Generates the demo dataset in the workspace on first use, then opens it. */
  async openDemo(jobId?: string): Promise<DatasetSummary> {
    const { workspace, jobs } = this.options
    const root = await jobs.start(
      { kind: 'demo', title: 'Preparing the demo dataset', jobId },
      ({ onProgress, signal }) => ensureDemoDataset(workspace, onProgress, signal)
    ).result
    return this.open(root)
  }

  /** A dataset by id; after a restart it is reopened from the recent list (index from the workspace cache). */
  async session(datasetId: string): Promise<DatasetSession> {
    const found = this.sessions.get(datasetId)
    if (found) return found
    const known = (await this.recent.list()).find((item) => item.datasetId === datasetId)
    if (!known) throw new UserError(`dataset ${datasetId} is not open; open its folder again`)
    await this.open(known.root)
    return this.sessions.get(datasetId)!
  }

  /** Starts the decode workers and this dataset's codecs now, not on the first image the user picks. */
  private warmDecoders(session: DatasetSession): void {
    const syntaxes = new Set(session.dataset.images.flatMap((image) => image.record?.transferSyntaxUid ?? []))
    void this.options
      .decoder()
      .then((decoder) => decoder.warm(syntaxes))
      .catch((err: Error) => this.options.logError(`warming the decode workers failed: ${err.message}`))
  }
}

/**
 * Refuses a folder with no DICOM file, readable or not: an empty list would say nothing. The indexer
 * reads `*.dcm` files and files without an extension that carry the DICM marker; `looked` counts
 * those it considered (here: only extension-less files, since a `*.dcm` file is listed even broken).
 */
function requireDicomFiles(dataset: Dataset, looked: number): void {
  const files = dataset.images.filter((image) => image.record).length
  const brokenDicom = dataset.fileErrors.filter((error) => /\.dcm$/i.test(error.path)).length
  if (files > 0 || brokenDicom > 0) return
  const where =
    looked === 0
      ? 'no file in it or its subfolders is named *.dcm or has no extension'
      : `looked at ${looked} file${looked === 1 ? '' : 's'} without an extension: none has the DICM marker, and none is named *.dcm`
  const csvRows = dataset.images.length
  const labels = csvRows ? `; ${dataset.labelFiles.image} names ${csvRows} image(s), none of them here` : ''
  throw new UserError(`no DICOM files found in ${dataset.root} (${where})${labels}`)
}
