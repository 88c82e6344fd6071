// The Runs view's back end: every run folder under the workspace's runs/ folder, plus the ones the
// user opened by path (remembered in the workspace), listed newest first, read, and deleted.
import { readFile, readdir, rm, stat } from 'node:fs/promises'
import { join, relative, isAbsolute } from 'node:path'
import type {
  ImportModelField,
  ImportModelRequest,
  ImportModelResult,
  JobInfo,
  RunDetail,
  RunSummary
} from '../../../common/contract'
import { UserError, errorMessage } from '../../core/errors'
import { ImportFieldError } from '../../ml/imported/model-config'
import { writeJsonAtomic } from '../../core/fs-atomic'
import { RUN_FILES, readRunConfig } from '../../ml/runs/run-folder'
import { validateFile, validateFolder } from '../folders'
import type { JobService } from '../jobs/job-service'
import { readRunDetail, runIdOf, summarizeRun } from './run-folders'
import type { CreateEnsembleRequest } from '../../../common/contract/ensembles'
import { createEnsemble } from '../../ml/ensemble/config'

const OPENED_RUNS_FILE = 'opened-runs.json'

export class RunsService {
  readonly runsDir: string

  constructor(
    private readonly workspace: string,
    private readonly jobs: JobService
  ) {
    this.runsDir = join(workspace, 'runs')
  }

  async list(): Promise<RunSummary[]> {
    const folders = await this.folders()
    const runs = await Promise.all(
      [...folders].map(([runDir, source]) => summarizeRun(runDir, source, this.jobOf(runDir)))
    )
    return runs.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''))
  }

  async read(runId: string): Promise<RunDetail> {
    const { runDir, source } = await this.find(runId)
    return readRunDetail(runDir, source, this.jobOf(runDir))
  }

  async summary(runId: string): Promise<RunSummary> {
    const { runDir, source } = await this.find(runId)
    return summarizeRun(runDir, source, this.jobOf(runDir))
  }

  /**
   * Makes an ensemble run, runs/<name>, of runs of this list (each checked to be able to predict);
   * writing two small files needs no job.
   */
  async createEnsemble(request: CreateEnsembleRequest): Promise<RunSummary> {
    const members = []
    for (const member of request.members) {
      const { runDir } = await this.find(member.runId)
      members.push({ run: runDir, weight: member.weight, checkpoint: member.checkpoint })
    }
    const out = join(this.runsDir, request.name)
    if (await stat(out).catch(() => null))
      throw new UserError(`${out}: a run of that name exists; choose another name`)
    await createEnsemble({
      out,
      members,
      iouThreshold: request.iouThreshold,
      skipBoxThreshold: request.skipBoxThreshold
    })
    return summarizeRun(out, 'workspace', undefined)
  }

  /** Adds a run folder from anywhere (e.g. `cxr-studio train --out`) to the list. */
  async open(path: string): Promise<RunSummary> {
    const runDir = await validateFolder(path)
    await readRunConfig(runDir)
    if (!this.inWorkspace(runDir)) {
      const opened = await this.opened()
      if (!opened.includes(runDir)) await writeJsonAtomic(this.openedFile, [runDir, ...opened])
    }
    return summarizeRun(runDir, this.inWorkspace(runDir) ? 'workspace' : 'opened', this.jobOf(runDir))
  }

  /**
   * Imports an ONNX detector as a run of the workspace (runs/<name>); what is refused comes back per
   * form field. Checking a model takes a second or two (hash, one ONNX Runtime run), so no job.
   */
  async importModel(request: ImportModelRequest): Promise<ImportModelResult> {
    const refused = (field: ImportModelField, err: unknown): ImportModelResult => ({
      run: null,
      errors: [{ field, message: errorMessage(err) }]
    })
    let model: string
    let studyModel: string | undefined
    try {
      model = await validateFile(request.model)
    } catch (err) {
      return refused('model', err)
    }
    try {
      studyModel = request.studyModel ? await validateFile(request.studyModel) : undefined
    } catch (err) {
      return refused('studyModel', err)
    }
    const out = join(this.runsDir, request.name)
    try {
      const { importModel } = await import('../../ml/imported/import-model')
      await importModel({
        model,
        format: request.format,
        out,
        classes: request.classes,
        studyModel,
        inputSize: request.inputSize,
        name: request.name,
        workspace: this.workspace
      })
    } catch (err) {
      if (err instanceof ImportFieldError) return refused(err.field, err)
      if (err instanceof UserError) return refused('model', err)
      throw err
    }
    return { run: await summarizeRun(out, 'workspace', undefined), errors: [] }
  }

  /**
   * Deletes a run of the workspace; a run opened from elsewhere is only forgotten (its folder is the
   * user's). Refused while the run trains, here or in another process.
   */
  async delete(runId: string): Promise<{ deleted: boolean; path: string }> {
    const { runDir, source } = await this.find(runId)
    const summary = await summarizeRun(runDir, source, this.jobOf(runDir))
    if (summary.state === 'running' || summary.state === 'queued')
      throw new UserError(`${runDir}: the run is ${summary.state === 'queued' ? 'waiting to train' : 'training'}; cancel it before deleting it`)
    if (source === 'opened') {
      await writeJsonAtomic(
        this.openedFile,
        (await this.opened()).filter((dir) => dir !== runDir)
      )
      return { deleted: false, path: runDir }
    }
    await rm(runDir, { recursive: true, force: true })
    return { deleted: true, path: runDir }
  }

  /** The folder of a run id; unknown ids are user errors. */
  async find(runId: string): Promise<{ runDir: string; source: RunSummary['source'] }> {
    for (const [runDir, source] of await this.folders()) if (runIdOf(runDir) === runId) return { runDir, source }
    throw new UserError(`run ${runId} is not in the workspace's runs folder nor among the opened runs`)
  }

  private get openedFile(): string {
    return join(this.workspace, OPENED_RUNS_FILE)
  }

  private inWorkspace(runDir: string): boolean {
    const rel = relative(this.runsDir, runDir)
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)
  }

  /** Every run folder to list: sub-folders of runs/ holding a config.json (or being created by a job), and the opened ones. */
  private async folders(): Promise<Map<string, RunSummary['source']>> {
    const found = new Map<string, RunSummary['source']>()
    const names = await readdir(this.runsDir).catch(() => [] as string[])
    await Promise.all(
      names
        .filter((name) => !name.startsWith('.'))
        .map(async (name) => {
          const runDir = join(this.runsDir, name)
          const hasConfig = await stat(join(runDir, RUN_FILES.config)).then(
            () => true,
            () => false
          )
          if (hasConfig || this.jobOf(runDir)) found.set(runDir, 'workspace')
        })
    )
    // a training of this back end whose folder the trainer has not created yet (queued, preparing data)
    for (const job of this.jobs.list())
      if (job.kind === 'train' && ['queued', 'running'].includes(job.state) && job.meta.runDir && !found.has(job.meta.runDir))
        found.set(job.meta.runDir, this.inWorkspace(job.meta.runDir) ? 'workspace' : 'opened')
    for (const runDir of await this.opened()) if (!found.has(runDir)) found.set(runDir, 'opened')
    return found
  }

  private async opened(): Promise<string[]> {
    try {
      const list = JSON.parse(await readFile(this.openedFile, 'utf8')) as unknown
      return Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : []
    } catch {
      return []
    }
  }

  /** The newest job of this back end that trains `runDir`. */
  private jobOf(runDir: string): JobInfo | undefined {
    return this.jobs.list().find((job) => job.kind === 'train' && job.meta.runDir === runDir)
  }
}
