import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname, basename, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { UserError } from './errors'

/**
 * Writes a file atomically: a temp file in the same folder, fsync, then rename over the target,
 * so a crash never leaves a half-written cache, checkpoint or export behind. A folder the user
 * cannot write (permissions, a file in the way, a full disk) is a UserError naming the path.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true })
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
    const handle = await open(tmp, 'w')
    try {
      await handle.writeFile(data)
      await handle.sync()
    } catch (err) {
      await handle.close()
      await rm(tmp, { force: true })
      throw err
    }
    await handle.close()
    await rename(tmp, path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (typeof code === 'string') throw new UserError(`${path}: cannot write (${code})`, { cause: err })
    throw err
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n')
}
