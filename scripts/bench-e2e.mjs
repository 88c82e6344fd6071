// The end-to-end peer comparison of `npm run bench:train` (issue 4; issue 12, point 4): for each demo
// variant and seed, one after another (each run has both cores),
//   1. `cxr-studio demo DIR --seed S [--hard]` (40 train / 12 test studies, the demo's defaults);
//   2. CXR Studio with its default settings: `train DIR --time-limit M --seed S`, then `submit` on the
//      test split;
//   3. torchvision's Faster R-CNN MobileNetV3-Large-FPN (scripts/peer-fasterrcnn.py: four box classes
//      carrying the study class, cosine schedule over the budget, OpenBLAS told the CPU's core type,
//      two threads) trained and predicting for the same M minutes with seed S;
//   4. each submission scored by `cxr-studio score --truth test` and by the acceptance script's
//      independent scorer; the all-negative/none submission as the floor.
// Prints per-run rows and, per demo and tool, mean ± sd over the seeds of the final score, study mAP,
// the six APs and the images each model saw, and the issue's verdict (CXR Studio's mean final >= the
// peer's on the hard demo, and not lower on the default one).
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { CLI, PYTHON, ROOT, hasPython, lastJsonLine, openblasCore, run, torchEnv } from './bench-process.mjs'

const CLASSES = ['negative', 'typical', 'indeterminate', 'atypical', 'opacity', 'none']
/** Table columns: key, header, value of a run. */
const COLUMNS = [
  ['final', 'final', (r) => r.score?.final],
  ['studyMap', 'study mAP', (r) => r.score?.studyMap],
  ...CLASSES.map((c) => [c, c.slice(0, 8), (r) => r.score?.ap?.[c]]),
  ['imagesSeen', 'images seen', (r) => r.imagesSeen]
]
const TOOLS = [
  ['cxrStudio', 'CXR Studio (defaults)'],
  ['fasterRcnn', 'Faster R-CNN MNv3-FPN'],
  ['trivial', 'all negative/none']
]

/**
 * @param {{ demos: string[], seeds: number[], minutes: number, workDir: string }} options
 * @returns the runs and the summary, for the results JSON
 */
export async function endToEnd({ demos, seeds, minutes, workDir }) {
  const torchvision = existsSync(PYTHON) && (await hasPython('torchvision'))
  if (!torchvision)
    process.stdout.write(
      'torchvision is not installed for /usr/bin/python3 (apt-get install python3-torchvision): no peer rows\n'
    )
  await rm(workDir, { recursive: true, force: true })
  const runs = []
  for (const demo of demos) {
    for (const seed of seeds) {
      const dir = join(workDir, `${demo}-seed${seed}`)
      await mkdir(dir, { recursive: true })
      runs.push(...(await oneSeed({ demo, seed, minutes, dir, torchvision })))
    }
  }
  const summary = summarise(runs, demos)
  printTable(summary, demos, seeds, minutes)
  return { demos, seeds, minutes, runs, summary }
}

async function oneSeed({ demo, seed, minutes, dir, torchvision }) {
  const demoDir = join(dir, 'demo')
  const base = { demo, seed, minutes }
  const made = await run(
    process.execPath,
    [CLI, 'demo', demoDir, '--seed', String(seed), '--json', ...(demo === 'hard' ? ['--hard'] : [])],
    { quiet: true }
  )
  if (made.code !== 0) {
    const error = `demo ${demo} seed ${seed}: ${lastLine(made.stderr)}`
    process.stdout.write(`${error}\n`)
    return TOOLS.map(([tool]) => ({ ...base, tool, error }))
  }
  const rows = [await trivial(base, demoDir, dir), await cxrStudio(base, demoDir, dir)]
  if (torchvision) rows.push(await fasterRcnn(base, demoDir, dir))
  return rows
}

/** Every study negative, every image none: the floor any trained model must clear. */
async function trivial(base, demoDir, dir) {
  const csv = join(dir, 'trivial.csv')
  await writeFile(csv, await readFile(join(demoDir, 'sample_submission.csv'), 'utf8'))
  return report({ ...base, tool: 'trivial', score: await scoreFile(demoDir, csv) })
}

/**
 * `train` with the defaults (plus `trainArgs`) for base.minutes, `submit` on the test split, scored.
 * `tool` names the row (and the run folder under `dir`).
 */
export async function cxrStudio(base, demoDir, dir, { tool = 'cxrStudio', trainArgs = [] } = {}) {
  const runDir = join(dir, tool === 'cxrStudio' ? 'cxr-run' : tool)
  const workspace = join(dir, 'workspace')
  const load = loadavg()[0]
  const t0 = Date.now()
  const train = await run(
    process.execPath,
    [
      CLI,
      ...['--workspace', workspace, 'train', demoDir, '--out', runDir],
      ...['--time-limit', String(base.minutes), '--seed', String(base.seed), '--json'],
      ...trainArgs
    ],
    { quiet: true }
  )
  const trainSeconds = (Date.now() - t0) / 1000
  let trained
  try {
    trained = JSON.parse(train.stdout)
  } catch {
    return report({
      ...base,
      tool,
      error: `train exit ${train.code}: ${lastLine(train.stderr)}`
    })
  }
  const submission = join(dir, `${tool}-submission.csv`)
  const submitted = await run(
    process.execPath,
    [CLI, '--workspace', workspace, 'submit', runDir, demoDir, '--out', submission, '--json'],
    { quiet: true }
  )
  if (submitted.code !== 0)
    return report({
      ...base,
      tool,
      error: `submit exit ${submitted.code}: ${lastLine(submitted.stderr)}`
    })
  return report({
    ...base,
    tool,
    loadAtStart: load,
    trainSeconds,
    wallSeconds: (Date.now() - t0) / 1000,
    backend: trained.backend?.name,
    status: trained.status,
    epochs: trained.epochsCompleted,
    steps: trained.globalStep,
    imagesSeen: await imagesSeen(runDir, trained),
    score: await scoreFile(demoDir, submission)
  })
}

/** Images through the forward pass: full epochs x train images, plus the last epoch's steps x batch. */
async function imagesSeen(runDir, trained) {
  try {
    const config = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8'))
    const perEpoch = config.dataset.trainImages
    const steps = config.stepsPerEpoch
    const fullEpochs = Math.floor(trained.globalStep / steps)
    return fullEpochs * perEpoch + Math.min(perEpoch, (trained.globalStep % steps) * config.train.batchSize)
  } catch {
    return null
  }
}

async function fasterRcnn(base, demoDir, dir) {
  const csv = join(dir, 'peer-submission.csv')
  const load = loadavg()[0]
  const t0 = Date.now()
  const peer = await run(
    PYTHON,
    [
      join(ROOT, 'scripts/peer-fasterrcnn.py'),
      demoDir,
      ...['--out', csv, '--minutes', String(base.minutes), '--seed', String(base.seed)]
    ],
    { quiet: true, env: torchEnv }
  )
  if (peer.code !== 0)
    return report({ ...base, tool: 'fasterRcnn', error: `peer exit ${peer.code}: ${lastLine(peer.stderr)}` })
  const summary = lastJsonLine(peer.stdout) ?? {}
  return report({
    ...base,
    tool: 'fasterRcnn',
    loadAtStart: load,
    wallSeconds: (Date.now() - t0) / 1000,
    trainSeconds: summary.trainSeconds,
    // of which reading the DICOMs (gdcmconv + pydicom) before the first step
    loadSeconds: summary.loadSeconds,
    openblasCore: openblasCore(peer.stderr),
    backboneWeights: summary.backboneWeights,
    epochs: summary.epochs,
    steps: summary.steps,
    boxBatch: summary.boxBatch,
    imagesSeen: summary.imagesSeen,
    score: await scoreFile(demoDir, csv)
  })
}

export async function scoreFile(demoDir, submission) {
  const result = await run(
    process.execPath,
    [CLI, 'score', demoDir, '--submission', submission, '--truth', 'test', '--json'],
    { quiet: true }
  )
  if (result.code !== 0) return { error: lastLine(result.stderr) }
  const score = JSON.parse(result.stdout)
  // and by the acceptance script's scorer, which shares no code with `cxr-studio score`
  if (existsSync(PYTHON)) {
    const truth = ['test_study_level.csv', 'test_image_level.csv'].map((f) => join(demoDir, f))
    const independent = await run(
      PYTHON,
      [join(ROOT, 'scripts/score-independent.py'), ...truth, submission],
      { quiet: true }
    )
    score.independentFinal = independent.code === 0 ? JSON.parse(independent.stdout).final : null
  }
  return score
}

const lastLine = (text) => text.trim().split('\n').pop() ?? ''
const num = (v, digits = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-')

function report(row) {
  const name = TOOLS.find(([tool]) => tool === row.tool)?.[1] ?? row.tool
  const what = `${row.demo.padEnd(7)} seed ${row.seed}  ${name.padEnd(22)}`
  if (row.error || row.score?.error) {
    process.stdout.write(`${what} error: ${row.error ?? row.score.error}\n`)
    return row
  }
  const s = row.score
  const trained =
    row.tool === 'trivial'
      ? ''
      : `  ${row.epochs} epochs, ${row.steps} steps, ${row.imagesSeen ?? '-'} images in ${num(row.trainSeconds, 0)} s` +
        (row.loadSeconds !== undefined ? ` (${num(row.loadSeconds, 0)} s of it reading the data)` : '') +
        (row.backend ? ` on ${row.backend}` : '') +
        (row.openblasCore ? `, OpenBLAS ${row.openblasCore}, backbone ${row.backboneWeights}` : '') +
        `, load ${num(row.loadAtStart, 1)}`
  process.stdout.write(
    `${what} final ${num(s.final)} (independent ${num(s.independentFinal)})  study mAP ${num(s.studyMap)}  ` +
      `${CLASSES.map((c) => `${c} ${num(s.ap?.[c])}`).join(' ')}${trained}\n`
  )
  return row
}

/** Mean and sample standard deviation of each column, per demo and tool, over the runs that scored. */
function summarise(runs, demos) {
  const summary = {}
  for (const demo of demos) {
    summary[demo] = {}
    for (const [tool] of TOOLS) {
      const ok = runs.filter((r) => r.demo === demo && r.tool === tool && !r.error && !r.score?.error)
      const columns = {}
      for (const [key, , value] of COLUMNS) {
        const values = ok.map(value).filter((v) => typeof v === 'number')
        columns[key] = meanSd(values)
      }
      summary[demo][tool] = {
        runs: ok.length,
        failed: runs.filter((r) => r.demo === demo && r.tool === tool).length - ok.length,
        ...columns
      }
    }
  }
  return summary
}

function meanSd(values) {
  if (!values.length) return null
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const sd =
    values.length > 1
      ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1))
      : null
  return { mean, sd, n: values.length }
}

function printTable(summary, demos, seeds, minutes) {
  const cell = (stat, key) => {
    if (!stat) return '-'.padStart(13)
    const digits = key === 'imagesSeen' ? 0 : 3
    return `${num(stat.mean, digits)} ± ${stat.sd === null ? '-' : num(stat.sd, digits)}`.padStart(13)
  }
  process.stdout.write(
    `\nmean ± sd over seeds ${seeds.join(', ')} (${minutes} min each, test split; sd needs 2+ seeds)\n` +
      `${'demo'.padEnd(7)} ${'tool'.padEnd(22)} ${'n'.padStart(2)} ${COLUMNS.map(([, h]) => h.padStart(13)).join(' ')}\n`
  )
  for (const demo of demos)
    for (const [tool, name] of TOOLS) {
      const row = summary[demo][tool]
      if (!row.runs && !row.failed) continue
      process.stdout.write(
        `${demo.padEnd(7)} ${name.padEnd(22)} ${String(row.runs).padStart(2)} ${COLUMNS.map(([key]) => cell(row[key], key)).join(' ')}` +
          (row.failed ? `  (${row.failed} failed)` : '') +
          '\n'
      )
    }
  // the issue's done-when: match or beat the peer on the hard demo, without losing on the default one
  for (const demo of demos) {
    const ours = summary[demo].cxrStudio.final
    const peer = summary[demo].fasterRcnn.final
    if (!ours || !peer) continue
    const verdict = ours.mean >= peer.mean ? 'matches or beats' : 'is below'
    process.stdout.write(
      `${demo}: CXR Studio's mean final ${num(ours.mean)} ${verdict} the peer's ${num(peer.mean)} (difference ${num(ours.mean - peer.mean)}, ${ours.n} vs ${peer.n} seeds)\n`
    )
  }
}
