// Datasets the UI opened: indexing (a job with progress), the recent list, the demo, and the session
// of each open dataset (its merged labels, list rows and filter policy).
import { UserError } from '../../core/errors'
import { openDataset } from '../../core/dataset'
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

  /** Indexes (or reuses the cached index of) `root`; a second open of the same folder waits for the first. */
  async open(root: string, jobId?: string): Promise<DatasetSummary> {
    const { workspace, jobs } = this.options
    const datasetId = datasetIdOf(workspace, root)
    let pending = this.opening.get(datasetId)
    if (!pending) {
      pending = jobs.start(
        { kind: 'open-dataset', title: `Indexing ${root}`, jobId, meta: { datasetId, root } },
        async ({ onProgress, signal }) =>
          new DatasetSession(await openDataset(root, { workspace, onProgress, signal }), workspace)
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
