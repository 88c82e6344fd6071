// A training run is a folder anyone can read (as Ultralytics users expect):
//   config.json           every argument, backend, versions, dataset fingerprint, initialisation
//   split.json            the study ids of the train and validation splits
//   results.csv           one row per epoch
//   events.out.tfevents.* TensorBoard scalars (same names as the CSV columns, plus per-step ones)
//   checkpoints/last/     model + optimizer + metadata, after every epoch, on cancel and at the time limit
//   checkpoints/best/     the same, for the epoch with the best validation score
//   train.log             what happened, in words
//   status.json           what the run is doing now: running (with its pid and host), or how it ended
//   samples.json          the latest epoch's validation samples: a few images, their truth and prediction
// Everything is written atomically (temp file + fsync + rename).
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { UserError, errorMessage } from '../../core/errors'
import { writeFileAtomic, writeJsonAtomic } from '../../core/fs-atomic'

export const RUN_FORMAT = 'cxr-studio-run'
/** Bumped when a run folder written by this version cannot be read by older code, or the reverse. */
export const RUN_FORMAT_VERSION = 1

export const RUN_FILES = {
  config: 'config.json',
  split: 'split.json',
  results: 'results.csv',
  log: 'train.log',
  checkpoints: 'checkpoints',
  status: 'status.json',
  samples: 'samples.json'
} as const

export interface RunHeader {
  format: typeof RUN_FORMAT
  formatVersion: number
}

export interface RunSplit {
  seed: number
  valFraction: number
  /** The floor of validation studies per study class (absent in runs of older versions). */
  valMinPerClass?: number
  /** The k-fold position of a fold run: validated on fold `index` of `count`. */
  fold?: { count: number; index: number } | null
  /** Studies per class (or 'unlabelled') on each side. */
  studiesPerClass?: { train: Record<string, number>; val: Record<string, number> }
  trainStudies: string[]
  valStudies: string[]
}

/**
 * Throws a UserError unless `value` is a run header of the version this code reads. The message
 * never quotes the file: the UI opens run folders by a path any page with the token can send.
 */
export function checkRunHeader(value: unknown, file: string): void {
  const header = value as Partial<RunHeader> | null
  if (!header || header.format !== RUN_FORMAT)
    throw new UserError(`${file}: not a CXR Studio run (no "format": "${RUN_FORMAT}")`)
  if (header.formatVersion !== RUN_FORMAT_VERSION) {
    throw new UserError(
      `${file}: run folder format version ${header.formatVersion} is not supported; this CXR Studio reads version ${RUN_FORMAT_VERSION}` +
        (Number(header.formatVersion) > RUN_FORMAT_VERSION
          ? ' (it was written by a newer CXR Studio: update)'
          : ' (retrain, or use the CXR Studio that wrote it)')
    )
  }
}

export async function readJson<T>(path: string, what: string): Promise<T> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UserError(
      code === 'ENOENT'
        ? `${path}: missing (${what})`
        : `${path}: cannot read ${what}: ${code ?? errorMessage(err)}`
    )
  }
  try {
    return JSON.parse(text) as T
  } catch (err) {
    // V8's message quotes the start of the text; only the position is kept
    const position = /at position \d+/.exec(errorMessage(err))?.[0]
    throw new UserError(`${path}: not valid JSON (${what})${position ? ` ${position}` : ''}`)
  }
}

/** Reads and checks a run's config.json; `T` is the trainer's config type. */
export async function readRunConfig<T extends RunHeader>(runDir: string): Promise<T> {
  const info = await stat(runDir).catch(() => null)
  if (!info?.isDirectory()) throw new UserError(`${runDir}: no such run folder`)
  const path = join(runDir, RUN_FILES.config)
  const config = await readJson<T>(path, 'the run configuration')
  checkRunHeader(config, path)
  return config
}

export async function writeRunConfig(runDir: string, config: RunHeader): Promise<void> {
  await writeJsonAtomic(join(runDir, RUN_FILES.config), config)
}

/** True when the folder does not exist or is empty: a new run may start there. */
export async function isEmptyFolder(dir: string): Promise<boolean> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[]
    if (err.code === 'ENOTDIR') throw new UserError(`${dir}: exists and is not a folder`)
    throw err
  })
  return entries.length === 0
}

/** The run's log, kept in memory and rewritten atomically on flush. */
export class RunLog {
  private constructor(
    readonly path: string,
    private readonly lines: string[],
    private readonly onLine?: (line: string) => void
  ) {}

  /** Opens the run's log (a resumed run appends to it); `onLine` hears every line written from now on. */
  static async open(runDir: string, onLine?: (line: string) => void): Promise<RunLog> {
    const path = join(runDir, RUN_FILES.log)
    const existing = await readFile(path, 'utf8').catch(() => '')
    return new RunLog(path, existing ? existing.replace(/\n$/, '').split('\n') : [], onLine)
  }

  write(message: string): void {
    const line = `${new Date().toISOString()} ${message}`
    this.lines.push(line)
    this.onLine?.(line)
  }

  async flush(): Promise<void> {
    await writeFileAtomic(this.path, this.lines.join('\n') + '\n')
  }
}
