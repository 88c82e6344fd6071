// The DICOMweb source as a back-end feature (the PACS view): saved servers with their secrets in a
// SecretStore, a connection check, QIDO-RS search and series, WADO-RS retrieval into the workspace's
// cache as a job, and the cache's listing. The pulled folder is opened with the ordinary openDataset.
import { rm, stat } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'
import type {
  PacsCachedDataset,
  PacsQuery,
  PacsRetrieveRequest,
  PacsRetrieveResult,
  PacsRetrieveStarted,
  PacsSearchResult,
  PacsSeries,
  PacsServer,
  PacsServerDraft,
  PacsTestResult
} from '../../../common/contract'
import { cachedDatasets, DEFAULT_DATASET_NAME, PACS_DIR, serverCacheDir } from '../../core/dicomweb/cache'
import { DicomwebClient, normaliseBase } from '../../core/dicomweb/client'
import type { DicomwebAuth } from '../../core/dicomweb/http'
import { retrieveStudies } from '../../core/dicomweb/retrieve'
import { UserError, errorMessage } from '../../core/errors'
import type { JobService } from '../jobs/job-service'
import { FileSecretStore, type SecretStore } from './secrets'
import { DEFAULT_TIMEOUT_SECONDS, ServerList, type SavedServer } from './servers'

export interface PacsServiceOptions {
  workspace: string
  jobs: JobService
  /** The OS keychain in the desktop app; `<workspace>/pacs/credentials.json` (0600) by default. */
  secrets?: SecretStore
  logError?: (message: string) => void
}

export function credentialsPath(workspace: string): string {
  return join(workspace, PACS_DIR, 'credentials.json')
}

export class PacsService {
  readonly servers: ServerList
  readonly secrets: SecretStore

  constructor(private readonly options: PacsServiceOptions) {
    this.servers = new ServerList(options.workspace)
    this.secrets =
      options.secrets ?? new FileSecretStore(credentialsPath(options.workspace), undefined, options.logError)
  }

  async list(): Promise<PacsServer[]> {
    const servers = await this.servers.list()
    return Promise.all(servers.map((server) => this.describe(server)))
  }

  async save(draft: PacsServerDraft): Promise<PacsServer> {
    const url = normaliseBase(draft.url)
    const previous = draft.id ? (await this.servers.list()).find((s) => s.id === draft.id) : undefined
    const id = draft.id ?? (await this.servers.freeId(draft.name))
    const server: SavedServer = {
      id,
      name: draft.name.trim(),
      url,
      auth: draft.auth.kind,
      user: draft.auth.kind === 'basic' ? draft.auth.user : null,
      timeoutSeconds: draft.timeoutSeconds ?? previous?.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS
    }
    const secret = secretOf(draft)
    if (secret !== undefined) await this.secrets.set(id, secret)
    // a secret of another kind (a password kept when switching to a token) is never sent
    else if (draft.auth.kind === 'none' || previous?.auth !== draft.auth.kind) await this.secrets.delete(id)
    await this.servers.put(server)
    return this.describe(server)
  }

  async delete(serverId: string, removeCache = false): Promise<{ deleted: boolean; cacheRemoved: boolean }> {
    const deleted = await this.servers.remove(serverId)
    await this.secrets.delete(serverId)
    let cacheRemoved = false
    if (removeCache) {
      const dir = serverCacheDir(this.options.workspace, serverId)
      cacheRemoved = await stat(dir).then(
        () => true,
        () => false
      )
      await rm(dir, { recursive: true, force: true })
    }
    return { deleted, cacheRemoved }
  }

  /** Asks the server for one study: does it answer, and does it accept our credentials? */
  async test(request: { serverId?: string; draft?: PacsServerDraft }): Promise<PacsTestResult> {
    const started = performance.now()
    try {
      const client = request.draft
        ? await this.draftClient(request.draft)
        : await this.client(await this.servers.find(required(request.serverId)))
      const rows = await client.searchStudies({ limit: 1 })
      const elapsedMs = Math.round(performance.now() - started)
      return {
        ok: true,
        message: `${client.base} answered QIDO-RS in ${elapsedMs} ms${rows.length ? '' : ' (it holds no study yet)'}`,
        elapsedMs
      }
    } catch (err) {
      if (!(err instanceof UserError)) throw err
      return { ok: false, message: err.message, elapsedMs: Math.round(performance.now() - started) }
    }
  }

  async search(serverId: string, query: PacsQuery): Promise<PacsSearchResult> {
    const server = await this.servers.find(serverId)
    const limit = query.limit ?? 100
    const rows = await (await this.client(server)).searchStudies({ ...query, limit })
    const cached = new Map<string, 'complete' | 'incomplete'>()
    for (const dataset of await cachedDatasets(this.options.workspace, serverId))
      for (const study of dataset.studies)
        if (cached.get(study.studyUid) !== 'complete') cached.set(study.studyUid, study.state)
    return {
      studies: rows.map((row) => ({ ...row, cached: cached.get(row.studyUid) ?? null })),
      more: rows.length >= limit
    }
  }

  async series(serverId: string, studyUid: string): Promise<PacsSeries[]> {
    return (await this.client(await this.servers.find(serverId))).studySeries(studyUid)
  }

  /** Starts the retrieve job; its result is a PacsRetrieveResult, and `datasetPath` opens with openDataset. */
  async retrieve(request: PacsRetrieveRequest): Promise<PacsRetrieveStarted> {
    const server = await this.servers.find(request.serverId)
    const client = await this.client(server)
    const datasetPath = join(
      serverCacheDir(this.options.workspace, server.id),
      request.dataset ?? DEFAULT_DATASET_NAME
    )
    const studyLabels = request.studyLabels && (await labelFile(request.studyLabels))
    const imageLabels = request.imageLabels && (await labelFile(request.imageLabels))
    const count = request.studyUids.length
    const job = this.options.jobs.start(
      {
        kind: 'pacs-retrieve',
        title: `Retrieving ${count} stud${count === 1 ? 'y' : 'ies'} from ${server.name}`,
        jobId: request.jobId,
        // one retrieve at a time into a server's cache: two would write the same studies
        queue: `pacs:${server.id}`,
        meta: { serverId: server.id, datasetPath }
      },
      async ({ signal, onProgress, emit }) => {
        const result = await retrieveStudies(client, datasetPath, request.studyUids, {
          refresh: request.refresh,
          studyLabels,
          imageLabels,
          signal,
          onProgress,
          onRetrieve: (event) => emit('retrieve', event)
        })
        return checkRetrieved(result)
      }
    )
    return { jobId: job.jobId, datasetPath }
  }

  async cache(serverId?: string): Promise<PacsCachedDataset[]> {
    const ids = serverId ? [serverId] : (await this.servers.list()).map((s) => s.id)
    return (await Promise.all(ids.map((id) => cachedDatasets(this.options.workspace, id)))).flat()
  }

  private async describe(server: SavedServer): Promise<PacsServer> {
    return {
      ...server,
      hasSecret: server.auth !== 'none' && (await this.secrets.has(server.id)),
      cacheDir: serverCacheDir(this.options.workspace, server.id)
    }
  }

  private async client(server: SavedServer): Promise<DicomwebClient> {
    return new DicomwebClient({
      url: server.url,
      auth: await this.authOf(server),
      timeoutMs: server.timeoutSeconds * 1000
    })
  }

  private async draftClient(draft: PacsServerDraft): Promise<DicomwebClient> {
    const secret = secretOf(draft) ?? (draft.id ? await this.secrets.get(draft.id) : null) ?? ''
    const auth: DicomwebAuth =
      draft.auth.kind === 'basic'
        ? { kind: 'basic', user: draft.auth.user, password: secret }
        : draft.auth.kind === 'bearer'
          ? { kind: 'bearer', token: secret }
          : { kind: 'none' }
    return new DicomwebClient({
      url: draft.url,
      auth,
      timeoutMs: (draft.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000
    })
  }

  private async authOf(server: SavedServer): Promise<DicomwebAuth> {
    if (server.auth === 'none') return { kind: 'none' }
    const secret = await this.secrets.get(server.id)
    if (secret === null)
      throw new UserError(
        `server ${server.name} (${server.url}) has no stored ${server.auth === 'basic' ? 'password' : 'token'}: enter it in its settings`
      )
    return server.auth === 'basic'
      ? { kind: 'basic', user: server.user ?? '', password: secret }
      : { kind: 'bearer', token: secret }
  }
}

function secretOf(draft: PacsServerDraft): string | undefined {
  if (draft.auth.kind === 'basic') return draft.auth.password
  if (draft.auth.kind === 'bearer') return draft.auth.token
  return undefined
}

function required(serverId: string | undefined): string {
  if (!serverId) throw new UserError('choose a saved server or fill in a new one')
  return serverId
}

async function labelFile(path: string): Promise<string> {
  if (!isAbsolute(path)) throw new UserError(`${path}: type the label file's absolute path`)
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(
      `${path}: ${err.code === 'ENOENT' ? 'no such file' : `cannot read (${err.code ?? errorMessage(err)})`}`
    )
  })
  if (!info.isFile()) throw new UserError(`${path}: not a file`)
  return resolve(path)
}

/**
 * A retrieve that left a study incomplete fails, naming each study and its reason (the complete
 * ones stay in the cache, the others stay unmarked and resume next time).
 */
export function checkRetrieved(result: PacsRetrieveResult): PacsRetrieveResult {
  const failed = result.studies.filter((study) => study.state === 'incomplete')
  if (failed.length === 0) return result
  const done = result.studies.length - failed.length
  throw new UserError(
    `${done} of ${result.studies.length} stud${result.studies.length === 1 ? 'y' : 'ies'} retrieved; incomplete (kept unmarked, a new retrieve resumes): ` +
      failed
        .slice(0, 3)
        .map(
          (study) =>
            `${study.studyUid} (${study.received}${study.expected === null ? '' : `/${study.expected}`} instances): ${study.error}`
        )
        .join('; ') +
      (failed.length > 3 ? `; and ${failed.length - 3} more` : '')
  )
}
