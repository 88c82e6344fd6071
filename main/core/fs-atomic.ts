import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname, basename, join } from 'node:path'
import { UserError } from './errors'
import { tempName } from './temp-files'
import { replaceableFile } from './write-target'

/**
 * Writes a file atomically: a temp file in the same folder, fsync, then rename over the target,
 * so a crash never leaves a half-written cache, checkpoint or export behind. Only a regular file
 * (or nothing) is replaced: a device, FIFO, socket or folder at the target is a UserError, and a
 * symlink to a regular file is written through (see write-target.ts). A folder the user cannot
 * write (permissions, a file in the way, a full disk) is a UserError naming the path.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true })
    const target = await replaceableFile(path)
    // the temp's name carries our pid, so a sweep after a kill knows nobody is writing it (temp-files.ts)
    const tmp = join(dirname(target), tempName(basename(target)))
    const handle = await open(tmp, 'wx')
    try {
      await handle.writeFile(data)
      await handle.sync()
    } catch (err) {
      await handle.close()
      await rm(tmp, { force: true })
      throw err
    }
    await handle.close()
    await rename(tmp, target)
  } catch (err) {
    if (err instanceof UserError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (typeof code === 'string') throw new UserError(`${path}: cannot write (${code})`, { cause: err })
    throw err
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n')
}
