// status.json of a run folder (RunStatusFile in the contract): what the run is doing now. The trainer
// writes it when a session starts, after every epoch and when it ends; the pid and host let a reader
// tell a live run from one whose process died (`running`, but nobody runs it).
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { RunStatusFile } from '../../../common/contract/training'
import { writeJsonAtomic } from '../../core/fs-atomic'
import { RUN_FILES } from './run-folder'

export async function writeRunStatus(runDir: string, status: RunStatusFile): Promise<void> {
  await writeJsonAtomic(join(runDir, RUN_FILES.status), status)
}

/** The run's status.json, or null when it is absent or not a valid status (runs of older versions have none). */
export async function readRunStatus(runDir: string): Promise<RunStatusFile | null> {
  const text = await readFile(join(runDir, RUN_FILES.status), 'utf8').catch(() => null)
  if (text === null) return null
  try {
    const parsed = RunStatusFile.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}

/** Writes the status of a session this process runs: its pid, host and start stay, the rest changes. */
export class RunStatusWriter {
  constructor(
    private readonly runDir: string,
    private readonly startedAt: Date,
    /** Epochs with a results.csv row, as last written. */
    private epochs: number,
    /** This session's plan: the epoch cap (null: until the time limit) and the time limit. */
    private readonly plan: { epochsPlanned: number | null; timeLimitMinutes: number | null }
  ) {}

  /** The best epoch as last reported (null until one is). */
  private best: RunStatusFile['best'] = null

  write(
    state: RunStatusFile['state'],
    change: { epochs?: number; error?: string; best?: RunStatusFile['best'] } = {}
  ): Promise<void> {
    this.epochs = change.epochs ?? this.epochs
    if (change.best !== undefined) this.best = change.best
    return writeRunStatus(this.runDir, {
      state,
      pid: process.pid,
      hostname: hostname(),
      startedAt: this.startedAt.toISOString(),
      updatedAt: new Date().toISOString(),
      epochs: this.epochs,
      ...this.plan,
      best: this.best,
      error: change.error ?? null
    })
  }
}
