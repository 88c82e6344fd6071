// The saved DICOMweb servers: `<workspace>/pacs/servers.json`, written atomically. Only what is not
// secret is here (name, URL, auth kind, user name, timeout); passwords and tokens are in a SecretStore.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PacsAuthKind } from '../../../common/contract'
import { PACS_DIR } from '../../core/dicomweb/cache'
import { UserError, errorMessage } from '../../core/errors'
import { writeJsonAtomic } from '../../core/fs-atomic'

export interface SavedServer {
  id: string
  name: string
  url: string
  auth: PacsAuthKind
  user: string | null
  timeoutSeconds: number
}

export const DEFAULT_TIMEOUT_SECONDS = 30

export class ServerList {
  readonly path: string
  private pending: Promise<unknown> = Promise.resolve()

  constructor(workspace: string) {
    this.path = join(workspace, PACS_DIR, 'servers.json')
  }

  async list(): Promise<SavedServer[]> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw new UserError(
        `${this.path}: cannot read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`
      )
    }
    try {
      const parsed = JSON.parse(text) as { servers?: SavedServer[] }
      return Array.isArray(parsed.servers) ? parsed.servers : []
    } catch {
      throw new UserError(`${this.path}: not valid JSON; fix or remove it`)
    }
  }

  async find(id: string): Promise<SavedServer> {
    const server = (await this.list()).find((s) => s.id === id)
    if (!server) throw new UserError(`no saved DICOMweb server with id ${id}`)
    return server
  }

  /** Adds or replaces a server (by id). */
  put(server: SavedServer): Promise<SavedServer> {
    return this.serially(async () => {
      const servers = (await this.list()).filter((s) => s.id !== server.id)
      await writeJsonAtomic(this.path, { version: 1, servers: [...servers, server] })
      return server
    })
  }

  remove(id: string): Promise<boolean> {
    return this.serially(async () => {
      const servers = await this.list()
      const kept = servers.filter((s) => s.id !== id)
      if (kept.length === servers.length) return false
      await writeJsonAtomic(this.path, { version: 1, servers: kept })
      return true
    })
  }

  /** A free id made from the name: `orthanc`, `orthanc-2`, … */
  async freeId(name: string): Promise<string> {
    const base =
      name
        .toLowerCase()
        .normalize('NFKD')
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40) || 'server'
    const taken = new Set((await this.list()).map((s) => s.id))
    let id = base
    for (let n = 2; taken.has(id); n++) id = `${base}-${n}`
    return id
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const next = this.pending.then(change)
    this.pending = next.catch(() => undefined)
    return next
  }
}
