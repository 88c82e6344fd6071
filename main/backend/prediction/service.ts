// Prediction as a back-end feature. The CLI's predict/evaluate/submit run as jobs in the predict
// worker (predictionJob); the Predict view's predictions are stored in the workspace
// (predictions/<name>/predictions.json + summary.json) with the run and dataset they came from,
// listed, scored against their truth, and loaded as the viewer's layer.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import {
  PredictionSummary,
  type Evaluation,
  type PredictRequest,
  type PredictionStarted,
  type PredictionsSummary
} from '../../../common/contract'
import { UserError, errorMessage } from '../../core/errors'
import { writeJsonAtomic } from '../../core/fs-atomic'
import type { PredictJob, PredictJobResult } from '../../ml/predict/job'
import type { SplitChoice } from '../../ml/predict/run'
import { chooseTruth, sameFolder, scorePredictions, trainedOnOf, type TruthChoice } from '../../ml/predict/truth-choice'
import { readRunConfig } from '../../ml/runs/run-folder'
import type { RunConfigFile } from '../../ml/train/run-record'
import type { DatasetService } from '../datasets/service'
import type { JobHandle, JobService, JobSpec } from '../jobs/job-service'
import { runIdOf } from '../training/run-folders'
import type { RunsService } from '../training/runs'
import { ML_QUEUE } from '../training/service'
import { predictionLayer } from '../viewer/predictions'
import { readPredictionsDocument, type PredictionsDocument } from './document'
import { evaluatePredictions } from './evaluation'
import { describeRuntime } from '../../ml/predict/runtime-info'

const TITLES: Record<PredictJob['kind'], string> = {
  predict: 'Predicting',
  submit: 'Writing a submission for',
  evaluate: 'Evaluating',
  'fit-study': 'Fitting the study regressions of'
}

function predictionSpec(job: PredictJob, title?: string, meta: Record<string, string> = {}): JobSpec {
  const run = job.options.run
  return {
    kind: 'predict',
    title: title ?? `${TITLES[job.kind]} ${run}`,
    queue: ML_QUEUE,
    meta: { runDir: run, runId: runIdOf(run), action: job.kind, ...meta }
  }
}

/** `cxr-studio predict|submit|evaluate` as a job in the predict worker. */
export function predictionJob(jobs: JobService, job: PredictJob): JobHandle<PredictJobResult> {
  return jobs.startWorker<PredictJobResult>(predictionSpec(job), 'predict-worker', job)
}

const DOCUMENT = 'predictions.json'
const SUMMARY = 'summary.json'

export interface PredictionServiceOptions {
  workspace: string
  jobs: JobService
  datasets: DatasetService
  runs: RunsService
}

export class PredictionService {
  readonly dir: string
  private readonly reserved = new Set<string>()

  constructor(private readonly options: PredictionServiceOptions) {
    this.dir = join(options.workspace, 'predictions')
  }

  /** Predicts the chosen images with the run as a job; when it ends the prediction is stored and scored. */
  async start(request: PredictRequest): Promise<PredictionStarted> {
    const { runDir } = await this.options.runs.find(request.runId)
    const session = await this.options.datasets.session(request.datasetId)
    if (request.scope === 'image') {
      if (!request.imageId) throw new UserError('scope image needs the imageId to predict')
      session.file(request.imageId)
    }
    const predictionId = await this.newName(request.name ?? defaultName(runDir, request))
    const folder = join(this.dir, predictionId)
    const job: PredictJob = {
      kind: 'predict',
      options: {
        run: runDir,
        dicomDir: session.dataset.root,
        workspace: this.options.workspace,
        checkpoint: request.checkpoint,
        runtime: request.runtime,
        split: (request.scope === 'image' ? 'all' : request.scope) satisfies SplitChoice,
        imageIds: request.scope === 'image' ? [request.imageId!] : undefined,
        settings: {
          flipTta: request.tta ?? false,
          merge: request.merge ?? 'nms',
          ...(request.studyFrom ? { studyFrom: request.studyFrom } : {})
        }
      },
      out: join(folder, DOCUMENT)
    }
    const scopeText = request.scope === 'image' ? `image ${request.imageId}` : `${request.scope} images`
    const handle = this.options.jobs.start(
      predictionSpec(job, `Predicting the ${scopeText} of ${session.name} with ${basename(runDir)}`, {
        predictionId,
        datasetId: request.datasetId
      }),
      async (ctx) => {
        await mkdir(folder, { recursive: true })
        try {
          await ctx.runWorker<PredictJobResult>('predict-worker', job)
          // a cancel that came as the worker finished: the user asked for no prediction
          ctx.signal.throwIfAborted()
          const summary = await this.summarize(predictionId, request)
          await writeJsonAtomic(join(folder, SUMMARY), summary)
          return summary
        } catch (err) {
          // a cancelled or failed prediction leaves nothing half-written behind
          await rm(folder, { recursive: true, force: true })
          throw err
        } finally {
          this.reserved.delete(predictionId)
        }
      }
    )
    return { jobId: handle.jobId, predictionId, path: folder }
  }

  async list(): Promise<PredictionSummary[]> {
    const names = await readdir(this.dir).catch(() => [] as string[])
    const summaries = await Promise.all(names.map((name) => this.readSummary(name).catch(() => null)))
    return summaries
      .filter((s): s is PredictionSummary => s !== null)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  }

  async summary(predictionId: string): Promise<PredictionSummary> {
    return this.readSummary(predictionId)
  }

  async delete(predictionId: string): Promise<{ deleted: boolean; path: string }> {
    const folder = await this.folderOf(predictionId)
    await rm(folder, { recursive: true, force: true })
    return { deleted: true, path: folder }
  }

  /** Makes a stored prediction the dataset's layer (null: no layer). */
  async use(datasetId: string, predictionId: string | null): Promise<PredictionsSummary | null> {
    const session = await this.options.datasets.session(datasetId)
    if (predictionId === null) {
      session.layer = null
      return null
    }
    const folder = await this.folderOf(predictionId)
    const doc = await readPredictionsDocument(join(folder, DOCUMENT))
    if (!(await sameFolder(doc.dataset, session.dataset.root)))
      throw new UserError(`${predictionId} predicts ${doc.dataset}, not ${session.dataset.root}`)
    session.layer = predictionLayer(doc, { folder, predictionId })
    return session.layer.summary
  }

  async evaluate(predictionId: string, threshold?: number): Promise<Evaluation> {
    const folder = await this.folderOf(predictionId)
    const doc = await readPredictionsDocument(join(folder, DOCUMENT))
    const { scope } = await this.readSummary(predictionId)
    const truth = await this.truthOf(doc, scope)
    if (!truth) throw new UserError(`${predictionId}: its images have no ground truth to score against`)
    return evaluatePredictions(predictionId, doc, truth, threshold)
  }

  /** The stored prediction's document (for exports). */
  async document(predictionId: string): Promise<{ folder: string; doc: PredictionsDocument }> {
    const folder = await this.folderOf(predictionId)
    return { folder, doc: await readPredictionsDocument(join(folder, DOCUMENT)) }
  }

  private async summarize(predictionId: string, request: PredictRequest): Promise<PredictionSummary> {
    const folder = join(this.dir, predictionId)
    const doc = await readPredictionsDocument(join(folder, DOCUMENT))
    const truth = await this.truthOf(doc, request.scope)
    const predicted = new Set(doc.images.map((i) => i.imageId))
    const truthImages = truth ? truth.images.filter((i) => predicted.has(i.imageId)).length : 0
    const report = truth && truthImages > 0 ? scorePredictions(truth, doc.images, doc.studies) : null
    return PredictionSummary.parse({
      predictionId,
      path: folder,
      createdAt: doc.createdAt,
      run: { runId: runIdOf(doc.run), path: doc.run, name: basename(doc.run) },
      checkpoint: { name: doc.checkpoint.name, epoch: doc.checkpoint.epoch },
      model: doc.model ?? null,
      dataset: { datasetId: request.datasetId, root: doc.dataset, name: basename(doc.dataset) },
      scope: request.scope,
      imageId: request.imageId ?? null,
      settings: {
        flipTta: doc.settings.flipTta,
        merge: doc.settings.merge,
        scoreThreshold: doc.settings.scoreThreshold
      },
      backend: doc.runtime
        ? describeRuntime(doc.runtime, { fallbacks: false })
        : `${doc.backend.name} on ${doc.backend.device}`,
      images: doc.images.length,
      studies: doc.studies.length,
      boxes: doc.images.reduce((n, i) => n + i.boxes.length, 0),
      errors: doc.errors.length,
      truth: truth && truthImages > 0 ? { source: truth.source, images: truthImages } : null,
      score: report
        ? { ap: report.ap, studyMap: report.studyMap, imageMap: report.imageMap, final: report.final }
        : null
    })
  }

  /**
   * The truth a prediction is scored against, as `cxr-studio evaluate` chooses it: the held-out test
   * truth for test images; for train images the run's validation studies on its own dataset (its
   * training images would flatter it), every labelled image on another dataset or for a single
   * image. Null: no truth.
   */
  private async truthOf(
    doc: PredictionsDocument,
    scope: PredictRequest['scope']
  ): Promise<TruthChoice | null> {
    const config = await readRunConfig<RunConfigFile>(doc.run).catch(() => null)
    if (!config) return null
    const trainedOn = trainedOnOf(config)
    const allTest = doc.images.length > 0 && doc.images.every((i) => i.path.startsWith('test/'))
    // one image is reviewed against its own labels, as the viewer shows them
    const wanted =
      scope === 'test' || allTest
        ? 'test'
        : scope !== 'image' && trainedOn.dataset !== '' && (await sameFolder(doc.dataset, trainedOn.dataset))
          ? 'val'
          : 'all'
    try {
      return await chooseTruth(
        { run: doc.run, dicomDir: doc.dataset, workspace: this.options.workspace },
        wanted,
        trainedOn
      )
    } catch (err) {
      if (err instanceof UserError) return null
      throw err
    }
  }

  private async readSummary(predictionId: string): Promise<PredictionSummary> {
    const file = join(await this.folderOf(predictionId), SUMMARY)
    let json: unknown
    try {
      json = JSON.parse(await readFile(file, 'utf8'))
    } catch (err) {
      throw new UserError(`${file}: cannot read the prediction's summary (${errorMessage(err)})`)
    }
    const parsed = PredictionSummary.safeParse(json)
    if (!parsed.success) throw new UserError(`${file}: not a prediction summary of this CXR Studio`)
    return parsed.data
  }

  private async folderOf(predictionId: string): Promise<string> {
    const folder = join(this.dir, predictionId)
    const names = await readdir(this.dir).catch(() => [] as string[])
    if (!names.includes(predictionId)) throw new UserError(`prediction ${predictionId} is not in ${this.dir}`)
    return folder
  }

  private async newName(name: string): Promise<string> {
    const taken = new Set([...(await readdir(this.dir).catch(() => [] as string[])), ...this.reserved])
    let candidate = name
    for (let n = 2; taken.has(candidate); n++) candidate = `${name}-${n}`
    this.reserved.add(candidate)
    return candidate
  }
}

/** e.g. `2026-12-06-1430-myrun-test`: a valid PredictionId whatever the run or image is called. */
function defaultName(runDir: string, request: PredictRequest): string {
  const stamp = new Date().toISOString().slice(0, 16).replace('T', '-').replace(':', '')
  const what = request.scope === 'image' ? request.imageId! : request.scope
  return `${stamp}-${basename(runDir)}-${what}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80)
}
