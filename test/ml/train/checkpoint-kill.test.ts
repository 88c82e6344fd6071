// A stop between the end-of-epoch saves of checkpoints/last and checkpoints/best used to leave `last`
// naming epoch 2 as the best while `best` still held epoch 1, and predict/submit/evaluate used the
// older model without a word. Here the process "dies" right as best is saved after epoch 2 (the
// checkpoint writer throws there, so the files are exactly what a kill leaves); predict must then
// use epoch 2, and a resume must make best and last agree.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import type { EpochRecord } from '../../../main/ml/runs/results-csv'
import type { BestTrackerState } from '../../../main/ml/train/early-stop'
import { resolveCheckpoint, runPrediction } from '../../../main/ml/predict/run'
import { checkpointDir, readCheckpointMeta } from '../../../main/ml/runs/checkpoint'
import { readFile } from 'node:fs/promises'
import { train, type TrainerState } from '../../../main/ml/train/trainer'
import { countingSource, demoDataset, tempDir } from '../helpers'

const kill = vi.hoisted(() => ({ bestAtEpoch: null as number | null }))

// The process dies when checkpoints/best is about to be written for this epoch.
vi.mock('../../../main/ml/runs/checkpoint', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../main/ml/runs/checkpoint')>()
  return {
    ...original,
    saveCheckpoint: (async (runDir, name, content) => {
      if (name === 'best' && content.meta.epoch === kill.bestAtEpoch) throw new Error('killed')
      return original.saveCheckpoint(runDir, name, content)
    }) as typeof original.saveCheckpoint
  }
})

// Every scored epoch is the new best, so epoch 2 surely is one (a tiny model's score may not improve).
vi.mock('../../../main/ml/train/early-stop', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../main/ml/train/early-stop')>()
  const { candidateOf } = await import('../../../common/best-epoch')
  return {
    ...original,
    observeEpoch: (state: BestTrackerState, record: EpochRecord) => {
      const score = candidateOf([record], 0, 'final')
      if (!score) return { improved: false, stop: false }
      state.best = score
      state.epochsWithoutImprovement = 0
      return { improved: true, stop: false }
    }
  }
})

let root: string
let workspace: string
const source = countingSource()

beforeAll(async () => {
  root = await demoDataset({ studies: 12 })
  workspace = await tempDir('ws')
}, 120_000)

const args = (out: string) => ({
  dataset: root,
  out,
  workspace,
  imageSize: 128,
  widthMultiplier: 0.25,
  depthMultiplier: 0.25,
  batchSize: 4,
  epochs: 2,
  valFraction: 0.25,
  backend: 'wasm' as const,
  seed: 3
})

const epochOf = async (dir: string) => (await readCheckpointMeta<TrainerState>(dir)).epoch

describe('a stop between saving last and best', () => {
  it('predict uses the true best before a resume, and a resume makes best and last agree', async () => {
    const run = join(await tempDir('run'), 'killed')
    kill.bestAtEpoch = 2
    await expect(train(args(run), { source })).rejects.toThrow('killed')
    kill.bestAtEpoch = null

    // the files a kill at that moment leaves: last after epoch 2 naming it the best, best at epoch 1
    const last = await readCheckpointMeta<TrainerState>(checkpointDir(run, 'last'))
    expect([last.epoch, last.trainer.best?.epoch]).toEqual([2, 2])
    expect(await epochOf(checkpointDir(run, 'best'))).toBe(1)

    // predict/submit/evaluate choose the checkpoint with resolveCheckpoint: the epoch-2 weights
    const chosen = await resolveCheckpoint(run)
    expect(chosen.name).toBe('best')
    expect(await epochOf(chosen.dir)).toBe(2)
    const predicted = await runPrediction({ run, dicomDir: root, workspace, backend: 'wasm' }, { source })
    expect(predicted.checkpoint).toMatchObject({ name: 'best', epoch: 2 })

    // resume: nothing left to train, but best is saved again from last, with the same weights
    const resumed = await train({ ...args(run), resume: true }, { source })
    expect(resumed.status).toBe('completed')
    const best = await readCheckpointMeta<TrainerState>(checkpointDir(run, 'best'))
    const lastAfter = await readCheckpointMeta<TrainerState>(checkpointDir(run, 'last'))
    expect(best.epoch).toBe(2)
    expect(best.trainer.best).toEqual(lastAfter.trainer.best)
    expect(resumed.bestCheckpoint).toBe(checkpointDir(run, 'best'))
    for (const file of ['weights.bin', 'training-weights.bin'])
      expect(
        (await readFile(join(checkpointDir(run, 'best'), file))).equals(
          await readFile(join(checkpointDir(run, 'last'), file))
        ),
        file
      ).toBe(true)
    const log = await readFile(join(run, 'train.log'), 'utf8')
    expect(log).toMatch(
      /checkpoints\/best held epoch 1 but the best is epoch 2 \(the run stopped between saving last and best\): saved again from checkpoints\/last/
    )
  }, 300_000)
})

/** The pid of a process that has ended: what a killed training left in its temp names. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8'
  })
  return Number(child.stdout)
}

describe('what a killed session leaves behind', () => {
  it('a resume removes its temp files and checkpoint folders, and the spare copy of a finished swap', async () => {
    const run = join(await tempDir('run'), 'leftovers')
    await train({ ...args(run), epochs: 1 }, { source })
    const dead = deadPid()
    const checkpoints = join(run, 'checkpoints')
    const leftovers = [
      join(run, `.results.csv.${dead}-0123456789ab.tmp`),
      join(run, `.train.log.${dead}-0123456789ab.tmp`),
      join(checkpoints, `.last.${dead}-0123456789ab.tmp`),
      // checkpoint.ts renames the old folder aside, swaps the new one in, then removes the old one
      join(checkpoints, '.best.0123456789ab.old')
    ]
    writeFileSync(leftovers[0], 'epoch,')
    writeFileSync(leftovers[1], 'half a log')
    mkdirSync(leftovers[2])
    writeFileSync(join(leftovers[2], 'weights.bin'), 'partial')
    mkdirSync(leftovers[3])
    writeFileSync(join(leftovers[3], 'checkpoint.json'), '{}')

    await train({ ...args(run), epochs: 1, resume: true }, { source })
    for (const path of leftovers) expect(existsSync(path), path).toBe(false)
    expect(readdirSync(checkpoints).sort()).toEqual(['best', 'last'])
    expect(await readFile(join(run, 'train.log'), 'utf8')).toMatch(
      /removed 4 file\(s\) left by an interrupted session: \.results\.csv\.\d+-0123456789ab\.tmp, /
    )
  }, 300_000)
})
