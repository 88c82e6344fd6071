// Kernel/training-throughput benchmark: trains and runs the ~1.2M-parameter benchmark net
// (main/ml/backend/bench/net.ts, 256×256×1, batch 8) on every tfjs backend available here, one
// thread each, and the same net in PyTorch when /usr/bin/python3 has torch. The trainer's two-thread
// step (main/ml/train/gradient-helper.ts) is measured on the real detectors by `npm run bench:train`.
// Each configuration runs in a fresh process. Prints a table and writes bench-results/kernels-*.json.
//
//   npm run bench:kernels -- [--steps 5] [--repeat 2] [--profile] [--skip-cpu]
import { build } from 'esbuild'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { nodeBundleOptions } from './esbuild-node.mjs'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`)
  return at >= 0 ? args[at + 1] : fallback
}
const steps = Number(option('steps', '5'))
const repeat = Number(option('repeat', '2'))
const profile = args.includes('--profile')
const skipCpu = args.includes('--skip-cpu')
const PYTHON = '/usr/bin/python3'

// Bundle the measurement driver as scripts/build-node.mjs bundles entries.
await build({
  ...nodeBundleOptions,
  entryPoints: {
    'bench-run': 'main/ml/backend/bench/run.ts'
  },
  outdir: 'out/bench',
  outExtension: { '.js': '.mjs' }
})

function runNode(backend, extra = []) {
  const run = spawnSync(
    process.execPath,
    [
      'out/bench/bench-run.mjs',
      '--backend',
      backend,
      '--steps',
      String(steps),
      ...extra
    ],
    {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024
    }
  )
  if (run.status !== 0) {
    const tail = (run.stderr || run.stdout || '').trim().split('\n').slice(-3).join(' ')
    return { error: tail || `exited with ${run.status ?? run.signal}` }
  }
  return JSON.parse(run.stdout.trim().split('\n').pop())
}

function hasTorch() {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function runTorch(threads) {
  const run = spawnSync(
    PYTHON,
    ['scripts/bench-kernels/torch_net.py', '--threads', String(threads), '--steps', String(steps)],
    { encoding: 'utf8' }
  )
  if (run.status !== 0)
    return { error: run.stderr.trim().split('\n').pop() || `exited with ${run.status ?? run.signal}` }
  return JSON.parse(run.stdout.trim().split('\n').pop())
}

function tensorflowAvailable() {
  const probe = runNode('tensorflow', ['--steps', '1'])
  return !probe.error
}

const configs = []
if (tensorflowAvailable()) configs.push({ label: 'tfjs tensorflow', backend: 'tensorflow' })
configs.push({ label: 'tfjs wasm', backend: 'wasm' })
if (!skipCpu) configs.push({ label: 'tfjs cpu', backend: 'cpu', steps: 1 })
const torch = hasTorch()

const results = []
for (let round = 0; round < repeat; round++) {
  for (const config of configs) {
    // the pure-JS CPU backend takes minutes per step: one step, first round only
    if (config.backend === 'cpu' && round > 0) continue
    const extra = config.steps ? ['--steps', String(config.steps)] : []
    if (profile && round === 0 && config.backend === 'wasm') extra.push('--profile')
    const result = runNode(config.backend, extra)
    results.push({ ...config, round, ...result })
    if (result.profile) process.stderr.write(result.profile + '\n')
    process.stderr.write(`${config.label}: ${result.error ?? 'done'}\n`)
  }
  if (torch) {
    for (const threads of [2, 1]) {
      const result = runTorch(threads)
      results.push({
        label: `pytorch ${threads} thread${threads > 1 ? 's' : ''}`,
        backend: 'pytorch',
        threads,
        round,
        ...result
      })
      process.stderr.write(`pytorch ${threads}: ${result.error ?? 'done'}\n`)
    }
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN
}
const summary = new Map()
for (const r of results) {
  if (r.error !== undefined || !r.trainImgPerSec) continue
  const row = summary.get(r.label) ?? {
    label: r.label,
    train: [],
    infer: [],
    trainCpu: [],
    inferCpu: [],
    loads: []
  }
  row.train.push(...r.trainImgPerSec)
  row.infer.push(...r.inferImgPerSec)
  if (r.trainImgPerCpuSec) row.trainCpu.push(...r.trainImgPerCpuSec)
  if (r.inferImgPerCpuSec) row.inferCpu.push(...r.inferImgPerCpuSec)
  if (r.loadAverage) row.loads.push(...r.loadAverage)
  summary.set(r.label, row)
}
const reference = summary.get('pytorch 2 threads')
const perCore = summary.get('pytorch 1 thread')
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '–')
const spread = (values) => (values.length ? `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}` : '–')
const ratio = (value, ref) => (ref && ref.length ? fmt(value / median(ref)) : '–')
const loads = results.flatMap((r) => r.loadAverage ?? [])
console.log(
  `benchmark net: 256×256×1, batch 8, ${steps} timed steps × ${repeat} rounds, ${cpus().length} cores`
)
console.log(
  `1-min load average during the runs: ${loads.length ? `${fmt(Math.min(...loads))}–${fmt(Math.max(...loads))}` : 'n/a'} (above ~1 the wall-clock columns measure the neighbours too)`
)
console.log('')
console.log(
  '                         wall clock, images/s                     | per CPU-second (all threads), images/s'
)
console.log(
  'configuration            train (median, range)  infer (median, range) | train   infer  | ÷ torch 2 thr (wall)  ÷ torch 1 thr (CPU)'
)
for (const row of summary.values()) {
  const train = median(row.train)
  const infer = median(row.infer)
  const trainCpu = median(row.trainCpu)
  const inferCpu = median(row.inferCpu)
  console.log(
    `${row.label.padEnd(24)} ${`${fmt(train)} (${spread(row.train)})`.padEnd(22)} ${`${fmt(infer)} (${spread(row.infer)})`.padEnd(22)}| ` +
      `${fmt(trainCpu).padStart(6)} ${fmt(inferCpu).padStart(6)}  | ` +
      `${ratio(train, reference?.train)} / ${ratio(infer, reference?.infer)}`.padEnd(22) +
      `${ratio(trainCpu, perCore?.trainCpu)} / ${ratio(inferCpu, perCore?.inferCpu)}`
  )
}
if (!torch)
  console.log(
    `PyTorch not found (${PYTHON} -c "import torch" failed): apt-get install -y python3-torch libopenblas0-pthread`
  )
for (const r of results) if (r.error !== undefined) console.log(`${r.label}: ${r.error}`)

mkdirSync('bench-results', { recursive: true })
const file = join('bench-results', `kernels-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(file, JSON.stringify({ steps, repeat, results }, null, 2) + '\n')
console.log(`raw results: ${file}`)
