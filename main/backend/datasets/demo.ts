// "Try the demo dataset": generated once into the workspace, then opened like any folder.
import { access, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ProgressListener } from '../../../common/domain'
import { tempName } from '../../core/temp-files'

let generating: Promise<string> | null = null

export async function ensureDemoDataset(
  workspace: string,
  onProgress?: ProgressListener,
  signal?: AbortSignal
): Promise<string> {
  const dir = join(workspace, 'demo-dataset')
  const complete = await access(join(dir, 'train_image_level.csv')).then(
    () => true,
    () => false
  )
  if (complete) return dir
  // Generate beside it and rename, so a crash never leaves a half-written demo that looks complete.
  generating ??= (async () => {
    const { generateDemo } = await import('../../core/demo')
    // a temp name with our pid: a workspace sweep after a kill removes it (core/temp-files.ts)
    const tmp = join(workspace, tempName('demo-dataset'))
    try {
      await generateDemo(tmp, { onProgress, signal })
      await rm(dir, { recursive: true, force: true })
      await rename(tmp, dir)
      return dir
    } finally {
      await rm(tmp, { recursive: true, force: true })
      generating = null
    }
  })()
  return generating
}
