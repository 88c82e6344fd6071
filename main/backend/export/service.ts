// Exports as a back-end feature (the Export view): COCO and YOLO of a dataset, COCO results and the
// Kaggle submission of a prediction — each a job with progress, written only where the user chose,
// never inside a dataset folder, and never over something that exists unless the user said so.
import { lstat, readdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import type {
  ExportDatasetRequest,
  ExportPredictionRequest,
  ExportResult,
  ExportStarted,
  OutputCheck
} from '../../../common/contract'
import { UserError, errorMessage } from '../../core/errors'
import { exportCoco } from '../../core/export/coco'
import { COCO_RESULTS_FILES, cocoResults, writeCocoResults } from '../../core/export/coco-results'
import { exportSummaryLines, type ExportSummary } from '../../core/export/run'
import { exportYolo } from '../../core/export/yolo'
import { assertOutputAllowed, datasetSource } from '../../core/write-target'
import type { PredictJobResult } from '../../ml/predict/job'
import { writeKaggleSubmission } from '../../ml/predict/outputs'
import { runPriors } from '../../ml/imported/model-config'
import { UNIFORM_PRIORS } from '../../ml/predict/study-level'
import { readRunConfig } from '../../ml/runs/run-folder'
import type { RunConfigFile } from '../../ml/train/run-record'
import type { DatasetService } from '../datasets/service'
import type { JobService } from '../jobs/job-service'
import type { PredictionService } from '../prediction/service'
import type { RunsService } from '../training/runs'
import type { ImageDecoder } from '../viewer/pixels'

/** Files that mark a folder as one of our exports (so it may be written again when the user agrees). */
const EXPORT_MARKERS = ['train.json', 'val.json', 'dataset.yaml', COCO_RESULTS_FILES.results]

export interface ExportServiceOptions {
  workspace: string
  jobs: JobService
  datasets: DatasetService
  runs: RunsService
  predictions: PredictionService
  decoder: () => Promise<ImageDecoder>
}

export class ExportService {
  readonly dir: string

  constructor(private readonly options: ExportServiceOptions) {
    this.dir = join(options.workspace, 'exports')
  }

  /** Where an export would go: exists? allowed? and a free default under the workspace's exports/. */
  async check(path: string | undefined, kind: 'file' | 'folder', suggest: string): Promise<OutputCheck> {
    const suggestion = await this.freeName(suggest)
    if (path === undefined) return { path: suggestion, exists: false, problem: null, suggestion }
    let target: string
    try {
      target = absolute(path)
    } catch (err) {
      return { path, exists: false, problem: errorMessage(err), suggestion }
    }
    const info = await lstat(target).catch(() => null)
    return { path: target, exists: info !== null, problem: await this.problemWith(target, kind), suggestion }
  }

  async exportDataset(request: ExportDatasetRequest): Promise<ExportStarted> {
    const session = await this.options.datasets.session(request.datasetId)
    const out = await this.target(request.out, 'folder', request.overwrite)
    const format = request.format
    const images =
      format === 'yolo'
        ? { format: request.images === 'png16' ? ('png16' as const) : ('png8' as const), size: request.size }
        : request.images && request.images !== 'none'
          ? { format: request.images, size: request.size }
          : undefined
    const job = this.options.jobs.start(
      {
        kind: 'export',
        title: `Exporting ${session.name} as ${format.toUpperCase()} to ${out}`,
        meta: { out, datasetId: session.datasetId }
      },
      async ({ onProgress, signal }) => {
        const decoder = await this.options.decoder()
        const summary = await (format === 'coco' ? exportCoco : exportYolo)(session.dataset, {
          outDir: out,
          valFraction: request.valFraction,
          seed: request.seed,
          policy: request.policy ?? session.policy,
          categories: format === 'coco' ? request.categories : undefined,
          images,
          test: request.test,
          recipes: request.recipes === false ? undefined : { runsDir: join(this.options.workspace, 'runs') },
          // exports read every file once: background priority, so the viewer stays quick meanwhile
          decoder: {
            decode: (absPath: string, relPath?: string) =>
              decoder.decode(absPath, relPath, { priority: 'background' })
          },
          onProgress,
          signal
        })
        return datasetExportResult(summary)
      }
    )
    return { jobId: job.jobId, out }
  }

  async exportPrediction(request: ExportPredictionRequest): Promise<ExportStarted> {
    if (request.format === 'coco-results') {
      if (!request.predictionId)
        throw new UserError('COCO results are written from a stored prediction: choose one')
      return this.cocoResultsOf(request.predictionId, request)
    }
    if (request.predictionId) return this.submissionOf(request.predictionId, request)
    if (request.runId && request.datasetId) return this.submissionFromRun(request)
    throw new UserError('a submission is written from a stored prediction, or from a run and a dataset')
  }

  private async cocoResultsOf(
    predictionId: string,
    request: ExportPredictionRequest
  ): Promise<ExportStarted> {
    const { doc } = await this.options.predictions.document(predictionId)
    const out = await this.target(request.out, 'folder', request.overwrite, doc.dataset)
    const job = this.options.jobs.start(
      { kind: 'export', title: `COCO results of ${predictionId} to ${out}`, meta: { out, predictionId } },
      async () => {
        const coco = cocoResults(doc.images, {
          dataset_root: doc.dataset,
          run: doc.run,
          checkpoint: `${doc.checkpoint.name} (epoch ${doc.checkpoint.epoch})`
        })
        const files = await writeCocoResults(out, coco)
        return exportResult(out, files, [
          `${coco.results.length} box(es) on ${coco.images.images.length} image(s) of ${doc.dataset}`,
          `read them with pycocotools: COCO('${COCO_RESULTS_FILES.images}').loadRes('${COCO_RESULTS_FILES.results}')`
        ])
      }
    )
    return { jobId: job.jobId, out }
  }

  private async submissionOf(predictionId: string, request: ExportPredictionRequest): Promise<ExportStarted> {
    const { doc } = await this.options.predictions.document(predictionId)
    const out = await this.target(request.out, 'file', request.overwrite, doc.dataset)
    const config = await readRunConfig<RunConfigFile>(doc.run).catch(() => null)
    const job = this.options.jobs.start(
      { kind: 'export', title: `Submission of ${predictionId} to ${out}`, meta: { out, predictionId } },
      async () => {
        const outcome = await writeKaggleSubmission(out, {
          dataset: { root: doc.dataset },
          selected: doc.images,
          images: doc.images,
          studies: doc.studies,
          priors: runPriors(config) ?? UNIFORM_PRIORS
        })
        return submissionResult(outcome)
      }
    )
    return { jobId: job.jobId, out }
  }

  private async submissionFromRun(request: ExportPredictionRequest): Promise<ExportStarted> {
    const { runDir } = await this.options.runs.find(request.runId!)
    const session = await this.options.datasets.session(request.datasetId!)
    const out = await this.target(request.out, 'file', request.overwrite, session.dataset.root)
    const job = this.options.jobs.start(
      {
        kind: 'export',
        title: `Submission of ${basename(runDir)} on ${session.name} to ${out}`,
        queue: 'ml',
        meta: { out, runDir, datasetId: session.datasetId }
      },
      async (ctx) => {
        const result = await ctx.runWorker<PredictJobResult>('predict-worker', {
          kind: 'submit',
          options: {
            run: runDir,
            dicomDir: session.dataset.root,
            workspace: this.options.workspace,
            checkpoint: request.checkpoint,
            split: 'auto'
          },
          out
        })
        return submissionResult(result.submission!)
      }
    )
    return { jobId: job.jobId, out }
  }

  /**
   * The checked output path: absolute, outside every dataset the app knows, and either free or, when
   * the user agreed, an earlier export (a folder) or a regular file.
   */
  private async target(
    path: string,
    kind: 'file' | 'folder',
    overwrite = false,
    datasetRoot?: string
  ): Promise<string> {
    const out = absolute(path)
    const problem = await this.problemWith(out, kind, datasetRoot)
    if (problem) throw new UserError(problem)
    const exists = await lstat(out).then(
      () => true,
      () => false
    )
    if (exists && !overwrite)
      throw new UserError(`${out}: exists already; confirm to overwrite it, or choose another name`)
    return out
  }

  private async problemWith(
    out: string,
    kind: 'file' | 'folder',
    datasetRoot?: string
  ): Promise<string | null> {
    const roots = [
      ...(await this.options.datasets.recent.list()).map((r) => r.root),
      ...(datasetRoot ? [datasetRoot] : [])
    ]
    // the one output rule of every command: not inside a dataset, and only a regular file replaced
    try {
      await assertOutputAllowed(out, roots.map(datasetSource), kind)
    } catch (err) {
      if (err instanceof UserError) return err.message
      throw err
    }
    const info = await lstat(out).catch(() => null)
    if (info && kind === 'folder') {
      const entries = await readdir(out).catch(() => [] as string[])
      if (entries.length > 0 && !entries.some((name) => EXPORT_MARKERS.includes(name)))
        return `${out}: holds other files (not an earlier export); choose an empty or new folder`
    }
    const parent = await lstat(dirname(out)).catch(() => null)
    if (parent && !parent.isDirectory()) return `${dirname(out)}: not a folder`
    return null
  }

  private async freeName(name: string): Promise<string> {
    const taken = new Set(await readdir(this.dir).catch(() => [] as string[]))
    const dot = name.lastIndexOf('.')
    const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, '']
    let candidate = name
    for (let n = 2; taken.has(candidate); n++) candidate = `${stem}-${n}${ext}`
    return join(this.dir, candidate)
  }
}

/** An absolute path from what was typed (`~` is the home folder). */
function absolute(typed: string): string {
  const path = typed.trim()
  if (!path) throw new UserError('type where to write')
  if (path.includes('\0')) throw new UserError('the path contains a NUL character')
  const expanded = path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path
  if (!isAbsolute(expanded))
    throw new UserError(`${path}: type an absolute path (for example /data/exports/siim-coco)`)
  return resolve(expanded)
}

function exportResult(
  out: string,
  files: string[],
  summary: string[],
  warnings: string[] = []
): ExportResult {
  return { out, files, summary, warnings }
}

function datasetExportResult(summary: ExportSummary): ExportResult {
  // the recipes' commands have their own list (with copy buttons) rather than summary lines
  const lines = exportSummaryLines({ ...summary, recipes: undefined })
  if (summary.clampedImages)
    lines.push(`  ${summary.clampedImages} image(s) had values outside the VOI window, clamped (png16)`)
  const result = exportResult(
    summary.outDir,
    summary.files.map((file) => join(summary.outDir, file)),
    lines,
    [...summary.warnings, ...summary.errors].map((e) => `${e.path}: ${e.reason}`)
  )
  return summary.recipes ? { ...result, recipes: summary.recipes } : result
}

function submissionResult(outcome: {
  path: string
  rows: number
  filled: string[]
  sample: string
}): ExportResult {
  return exportResult(
    outcome.path,
    [outcome.path],
    [`${outcome.rows} row(s), ids from ${outcome.sample}; validated`],
    outcome.filled.length
      ? [`${outcome.filled.length} id(s) had no prediction and got a neutral row, e.g. ${outcome.filled[0]}`]
      : []
  )
}
