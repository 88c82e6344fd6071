// Parser robustness: valid DICOMs of every transfer syntax, mutated (bytes flipped, inserted and
// deleted; element and item lengths made huge, odd or past the end; VRs and image facts changed;
// truncated inside every region; sequences nested thousands deep), must each read as an image or
// fail with a clear error, in the three ways the app reads a file: the indexer's header, the
// viewer's tag panel, and the decode worker's decode + stats + display + thumbnail.
//
// A clear error is a FileReadError whose path is the file and whose reason is one line in the
// app's words. Anything else thrown (RangeError, TypeError, a string, a plain Error) is a bug, and
// so is a FileReadError whose reason is a runtime's message (`Cannot read properties of …`,
// `Maximum call stack size exceeded`, `Invalid typed array length`, …) wrapped on its way out.
// Files run in a worker thread, so a hang is ended and counted rather than stalling the run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { build } from 'esbuild'
import fc from 'fast-check'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { ExamineResponse, StageOutcome } from './fuzz/examine-worker'
import { mutationsOf, truncations, type Mutation } from './fuzz/mutations'
import { REGRESSIONS } from './fuzz/regressions'
import { READABLE_SYNTAXES } from './fixtures'
import { fixtureSeeds, generatedSeeds, type Seed } from './fuzz/seeds'

/**
 * fast-check's seed for the first file; file i uses SEED + i, so every run sees the same cases.
 * CXR_FUZZ_SEED and CXR_FUZZ_RUNS run a longer campaign by hand; CI runs the defaults.
 */
const SEED = Number(process.env.CXR_FUZZ_SEED ?? 20_240_610)
/** Random mutations per file, on top of the truncations at every region. */
const RUNS_PER_FILE = Number(process.env.CXR_FUZZ_RUNS ?? 20)
/** A reading of a file (one stage) slower than this is a failure... */
const STAGE_MS = 3_000
/** ...and a file not done after this is a hang: its worker is ended. */
const HANG_MS = 15_000
/** How far one file may raise the process's peak resident memory. */
const PEAK_RISE_MB = 128

/** Runtime messages that must not reach the user as a reason. */
const RUNTIME_TEXT =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not defined|\[object |Invalid typed array length|Invalid array length|Array buffer allocation failed|Maximum call stack|out of memory|out of bounds|outside the bounds|RangeError|TypeError|\bundefined\b(?! length)|\bNaN\b/

class Examiner {
  private worker!: Worker
  private next = 1
  private pending: {
    id: number
    resolve: (response: ExamineResponse | { crash: string }) => void
  } | null = null

  constructor(private readonly script: string) {
    this.start()
  }

  private start(): void {
    this.worker = new Worker(this.script, { resourceLimits: { maxOldGenerationSizeMb: 512 } })
    this.worker.on('message', (response: ExamineResponse) => {
      if (this.pending?.id === response.id) this.settle(response)
    })
    this.worker.on('error', (err) => this.settle({ crash: `worker error: ${err.message}` }))
    this.worker.on('exit', (code) => this.settle({ crash: `worker exited with code ${code}` }))
  }

  private settle(outcome: ExamineResponse | { crash: string }): void {
    const pending = this.pending
    this.pending = null
    pending?.resolve(outcome)
  }

  async examine(absPath: string, relPath: string): Promise<ExamineResponse | { crash: string }> {
    const id = this.next++
    const outcome = await new Promise<ExamineResponse | { crash: string }>((resolve) => {
      const timer = setTimeout(() => this.settle({ crash: `hang: not done after ${HANG_MS} ms` }), HANG_MS)
      this.pending = {
        id,
        resolve: (value) => {
          clearTimeout(timer)
          resolve(value)
        }
      }
      this.worker.postMessage({ id, absPath, relPath })
    })
    if ('crash' in outcome) {
      this.worker.removeAllListeners()
      await this.worker.terminate()
      this.start()
    }
    return outcome
  }

  stop(): Promise<number> {
    this.worker.removeAllListeners()
    return this.worker.terminate()
  }
}

/** What is wrong with one file's outcome; empty when every stage is an image or a clear error. */
function problemsOf(outcome: ExamineResponse | { crash: string }, relPath: string): string[] {
  if ('crash' in outcome) return [outcome.crash]
  const problems: string[] = []
  const say = (stage: StageOutcome, what: string) => problems.push(`${stage.stage}: ${what}`)
  for (const stage of outcome.stages) {
    if (stage.ms > STAGE_MS) say(stage, `took ${Math.round(stage.ms)} ms`)
    if (stage.ok) continue
    if (stage.errorClass !== 'FileReadError') say(stage, `${stage.errorClass} escaped: ${stage.message}`)
    else if (stage.path !== relPath) say(stage, `error names ${stage.path}, not the file: ${stage.message}`)
    else if (!stage.reason || /\n/.test(stage.reason)) say(stage, `no one-line reason: ${JSON.stringify(stage.reason)}`)
    else if (RUNTIME_TEXT.test(stage.reason) || /: -?\d+$/.test(stage.reason))
      say(stage, `a runtime message as the reason: ${stage.reason}`)
  }
  if (outcome.peakRiseMb > PEAK_RISE_MB) problems.push(`peak memory rose by ${Math.round(outcome.peakRiseMb)} MB`)
  return problems
}

let dir: string
let bundleDir: string
let examiner: Examiner
let seeds: Seed[]

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cxr-fuzz-'))
  // a worker thread runs plain JS: bundle the examiner the way scripts/build-node.mjs bundles the
  // app's workers, under out/ so that it finds node_modules (and the codecs' WASM) like they do
  mkdirSync(join(process.cwd(), 'out'), { recursive: true })
  bundleDir = mkdtempSync(join(process.cwd(), 'out', 'test-fuzz-'))
  const script = join(bundleDir, 'examine-worker.mjs')
  await build({
    entryPoints: [join(import.meta.dirname, 'fuzz', 'examine-worker.ts')],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    absWorkingDir: process.cwd(),
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as __cxrCreateRequire } from 'node:module'; const require = __cxrCreateRequire(import.meta.url);"
    }
  })
  examiner = new Examiner(script)
  seeds = [...fixtureSeeds(), ...(await generatedSeeds())]
}, 60_000)

afterAll(async () => {
  await examiner?.stop()
  rmSync(dir, { recursive: true, force: true })
  rmSync(bundleDir, { recursive: true, force: true })
})

describe('parser robustness: mutated DICOMs of every syntax', () => {
  it('covers every transfer syntax the app reads', () => {
    const syntaxes = new Set(seeds.map((seed) => seed.transferSyntaxUid))
    for (const uid of READABLE_SYNTAXES)
      expect(syntaxes).toContain(uid)
  })

  it(
    'reads every mutation as an image or a clear error naming the file, within time and memory bounds',
    async () => {
      const failures: string[] = []
      const counts = { files: seeds.length, cases: 0, images: 0, errors: 0, slowestMs: 0, peakRiseMb: 0 }
      const check = async (seed: Seed, mutation: Mutation): Promise<boolean> => {
        const relPath = `fuzz/${seed.name.replace(/^files\//, '')}`
        const absPath = join(dir, 'case.dcm')
        writeFileSync(absPath, mutation.bytes)
        const outcome = await examiner.examine(absPath, relPath)
        counts.cases++
        if (!('crash' in outcome)) {
          for (const stage of outcome.stages) {
            if (stage.ok) counts.images++
            else counts.errors++
            counts.slowestMs = Math.max(counts.slowestMs, stage.ms)
          }
          counts.peakRiseMb = Math.max(counts.peakRiseMb, outcome.peakRiseMb)
        }
        const problems = problemsOf(outcome, relPath)
        for (const problem of problems) failures.push(`${seed.name} [${mutation.describe}]: ${problem}`)
        return problems.length === 0
      }
      for (const [i, seed] of seeds.entries()) {
        for (const mutation of truncations(seed)) await check(seed, mutation)
        // fast-check shrinks a failing mutation to a small one before it reports it
        const details = await fc.check(
          fc.asyncProperty(mutationsOf(seed), (mutation) => check(seed, mutation)),
          { seed: SEED + i, numRuns: RUNS_PER_FILE, endOnFailure: false }
        )
        if (details.failed && details.counterexample)
          failures.push(`${seed.name}: smallest failing case: ${details.counterexample[0].describe}`)
      }
      console.info(
        `parser fuzz: ${counts.files} files, ${counts.cases} cases (seed ${SEED}, ${RUNS_PER_FILE} random mutations per file ` +
          `plus truncations), ${counts.images} stage(s) read an image, ${counts.errors} a clear error; ` +
          `slowest stage ${Math.round(counts.slowestMs)} ms, largest peak-memory rise ${Math.round(counts.peakRiseMb)} MB; ` +
          `${failures.length} failure(s)`
      )
      expect(failures.slice(0, 40)).toEqual([])
    },
    300_000
  )
})

describe('cases the fuzzer found, rebuilt by hand', () => {
  it.each(REGRESSIONS.map((regression) => [regression.found, regression] as const))('%s', async (_, regression) => {
    const relPath = 'found/case.dcm'
    const absPath = join(dir, 'found.dcm')
    writeFileSync(absPath, await regression.bytes())
    const outcome = await examiner.examine(absPath, relPath)
    expect(problemsOf(outcome, relPath)).toEqual([])
    const stages = (outcome as ExamineResponse).stages
    for (const stage of stages) {
      const expected = regression.reasons[stage.stage]
      if (expected === 'read') expect(stage, stage.stage).toMatchObject({ ok: true })
      else if (typeof expected === 'string') expect(stage, stage.stage).toMatchObject({ ok: false, reason: expected })
      else expect(stage.reason, stage.stage).toMatch(expected)
    }
  })
})
