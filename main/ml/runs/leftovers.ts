// What a killed session leaves in its run folder: temp files of interrupted atomic writes (results.csv,
// train.log, the event file, status.json…), a checkpoint's temp folder, and the previous checkpoint
// renamed aside by a swap that finished (checkpoint.ts). A resumed session clears them first.
import { readdir, rm, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { removeStaleTemps } from '../../core/temp-files'
import { CHECKPOINT_FILE, checkpointDir, type CheckpointName } from './checkpoint-meta'
import { RUN_FILES } from './run-folder'

/** `.<last|best>.<pid->?<12 hex>.old`: the folder a checkpoint swap moved aside. */
const SWAPPED_OUT = /^\.(last|best)\.(?:\d+-)?[0-9a-f]{12}\.old$/

/**
 * Removes the leftovers of killed sessions from a run folder; returns their paths. A `.old`
 * checkpoint goes only once the checkpoint it stood in for is complete: until then it is the one
 * findCheckpoint uses.
 */
export async function removeRunLeftovers(runDir: string): Promise<string[]> {
  // the run folder, checkpoints/ and the predictions folders a run may hold
  const removed = await removeStaleTemps(runDir, { depth: 1 })
  const checkpoints = join(runDir, RUN_FILES.checkpoints)
  for (const name of await readdir(checkpoints).catch(() => [] as string[])) {
    const match = SWAPPED_OUT.exec(name)
    if (!match) continue
    const complete = await stat(
      join(checkpointDir(runDir, match[1] as CheckpointName), CHECKPOINT_FILE)
    ).then(
      () => true,
      () => false
    )
    if (!complete) continue
    await rm(join(checkpoints, name), { recursive: true, force: true })
    removed.push(join(checkpoints, name))
  }
  return removed
}

/** The train.log line for what was removed (null when nothing was). */
export function leftoversLine(removed: readonly string[]): string | null {
  if (removed.length === 0) return null
  return `removed ${removed.length} file(s) left by an interrupted session: ${removed.map((path) => basename(path)).join(', ')}`
}
