// Where DICOMweb passwords and tokens live. One interface; one file, `<workspace>/pacs/credentials.json`,
// readable by the user alone (0600, checked and fixed on every read), whose values are either plain
// (the web host and the CLI) or sealed by a cipher (the desktop app: Electron's safeStorage, that is
// the OS keychain, in main/electron/secret-cipher.ts). Secrets never go back to the renderer.
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { UserError, errorMessage } from '../../core/errors'
import { tempName } from '../../core/temp-files'

export interface SecretStore {
  get(serverId: string): Promise<string | null>
  set(serverId: string, secret: string): Promise<void>
  delete(serverId: string): Promise<void>
  has(serverId: string): Promise<boolean>
}

/** Seals values before they are written; `name` is recorded so another host knows it cannot read them. */
export interface SecretCipher {
  name: string
  encrypt(plain: string): Promise<string>
  decrypt(sealed: string): Promise<string>
}

export const plainCipher: SecretCipher = {
  name: 'plain',
  encrypt: async (plain) => plain,
  decrypt: async (sealed) => sealed
}

interface CredentialsFile {
  version: 1
  /** Per server: which cipher sealed the value, and the value. */
  secrets: Record<string, { cipher: string; value: string }>
}

const PRIVATE_MODE = 0o600

export class FileSecretStore implements SecretStore {
  constructor(
    readonly path: string,
    private readonly cipher: SecretCipher = plainCipher,
    private readonly warn: (message: string) => void = () => undefined
  ) {}

  async get(serverId: string): Promise<string | null> {
    const entry = (await this.read()).secrets[serverId]
    if (!entry) return null
    if (entry.cipher !== this.cipher.name)
      throw new UserError(
        `the secret of server ${serverId} was stored by ${entry.cipher === 'plain' ? 'the web host or the CLI' : `the desktop app (${entry.cipher})`} and cannot be read here: enter the password or token again`
      )
    try {
      return await this.cipher.decrypt(entry.value)
    } catch (err) {
      throw new UserError(
        `the secret of server ${serverId} cannot be unsealed (${errorMessage(err)}): enter it again`
      )
    }
  }

  async has(serverId: string): Promise<boolean> {
    return Boolean((await this.read()).secrets[serverId])
  }

  set(serverId: string, secret: string): Promise<void> {
    return this.serially(async () => {
      const file = await this.read()
      file.secrets[serverId] = { cipher: this.cipher.name, value: await this.cipher.encrypt(secret) }
      await this.write(file)
    })
  }

  delete(serverId: string): Promise<void> {
    return this.serially(async () => {
      const file = await this.read()
      if (!(serverId in file.secrets)) return
      delete file.secrets[serverId]
      await this.write(file)
    })
  }

  /** Read-modify-write one at a time, so two saves never drop each other's secret. */
  private serially(change: () => Promise<void>): Promise<void> {
    const next = this.pending.then(change)
    this.pending = next.catch(() => undefined)
    return next
  }

  private pending: Promise<void> = Promise.resolve()

  private async read(): Promise<CredentialsFile> {
    let text: string
    try {
      await this.checkMode()
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, secrets: {} }
      if (err instanceof UserError) throw err
      throw new UserError(
        `${this.path}: cannot read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`
      )
    }
    try {
      const parsed = JSON.parse(text) as CredentialsFile
      if (parsed && typeof parsed.secrets === 'object' && parsed.secrets)
        return { version: 1, secrets: parsed.secrets }
    } catch {
      // reported below
    }
    throw new UserError(
      `${this.path}: not a credentials file this app wrote; move it away and enter the secrets again`
    )
  }

  /** Others must not read it: a file that they can is made private again, and said so once. */
  private async checkMode(): Promise<void> {
    if (process.platform === 'win32') return
    const info = await stat(this.path)
    if (!info.isFile()) throw new UserError(`${this.path}: not a regular file`)
    if ((info.mode & 0o077) !== 0) {
      await chmod(this.path, PRIVATE_MODE).catch((err: NodeJS.ErrnoException) => {
        throw new UserError(
          `${this.path}: other users can read it (mode ${(info.mode & 0o777).toString(8)}) and it cannot be made private (${err.code}); fix its permissions (chmod 600)`
        )
      })
      this.warn(
        `${this.path}: other users could read it (mode ${(info.mode & 0o777).toString(8)}); made it private (600) — change the passwords it held if others use this machine`
      )
    }
  }

  /** Written private from the first byte: a temp opened 0600, fsynced, renamed over the file. */
  private async write(file: CredentialsFile): Promise<void> {
    const dir = dirname(this.path)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const tmp = join(dir, tempName('credentials.json'))
    const handle = await open(tmp, 'wx', PRIVATE_MODE)
    try {
      await handle.writeFile(JSON.stringify(file, null, 2) + '\n')
      await handle.chmod(PRIVATE_MODE)
      await handle.sync()
    } catch (err) {
      await handle.close()
      await rm(tmp, { force: true })
      throw new UserError(
        `${this.path}: cannot write (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`
      )
    }
    await handle.close()
    await rename(tmp, this.path)
  }
}
