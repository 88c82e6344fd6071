#!/usr/bin/env node
// `npm run bench:train`: training and inference throughput of the detectors, and the peer comparison.
//
// 1. Throughput (images/s): every available tfjs backend (wasm, cpu; tensorflow when installed) at
//    256 and 512 px for each head/backbone pair, running the trainer's real step (forward, backward,
//    clipping, AdamW; scripts/bench-train-runner.ts), one child process per measurement; and, when
//    /usr/bin/python3 has torch, the same-shape network in PyTorch (scripts/bench-train-torch.py,
//    2 threads, OpenBLAS told the CPU's core type) for the ratio, printed per pair (target: WASM
//    training >= 1/3 of PyTorch's, both on two threads). Inference also on ONNX Runtime
//    (scripts/bench-onnx-runner.ts: the detector exported by main/ml/onnx, onnxruntime-node's CPU
//    provider on 1 and 2 threads) against PyTorch inference on the same thread counts (target >= 1).
// 2. End-to-end peer comparison (issues 4 and 12; scripts/bench-e2e.mjs): for each demo variant
//    (--demos default,hard) and seed (--seeds 3: --demo-seed, +1, +2), the demo (40 train / 12 test
//    studies, 256 px), `cxr-studio train` with default settings for --minutes, `submit` on its test
//    split, scored by `cxr-studio score` and an independent scorer; versus torchvision's Faster R-CNN
//    MobileNetV3-FPN (scripts/peer-fasterrcnn.py, when torchvision is present) for the same minutes,
//    and the trivial all-negative/none submission; mean ± sd over the seeds per demo and tool.
//    Runs are sequential, each with both cores. --e2e runs this part alone.
//
// Options: --e2e  --skip-throughput  --skip-peer  --sizes 256,512  --pairs head/backbone,...  --backends wasm,cpu  --cpu-sizes 256  --threads 1,2
//          --onnx-threads 1,2 (empty: no ONNX Runtime rows)  --inference-only (ONNX Runtime and PyTorch inference alone)
//          --onnx-python PATH (default $ONNX_PYTHON or /usr/bin/python3: checks the export in Python's onnxruntime)
//          --steps 3  --minutes 15  --demos default,hard  --seeds 3  --demo-seed 42  --out bench-results/train.json
//          --work bench-results/train-work (the end-to-end runs' folder, emptied first)
// The machine may be shared: the load average is printed with the results.
import { build } from 'esbuild'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { endToEnd } from './bench-e2e.mjs'
import { PYTHON, ROOT, hasPython, lastJsonLine, openblasCore, run, torchEnv } from './bench-process.mjs'
import { nodeBundleOptions } from './esbuild-node.mjs'
const ALL_PAIRS = [
  ['efficientdet', 'efficientnet-b0'],
  ['efficientdet', 'mobilenetv2'],
  ['efficientdet', 'resnet18'],
  ['fcos', 'efficientnet-b0'],
  ['fcos', 'mobilenetv2'],
  ['fcos', 'resnet18']
]

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const flag = (name) => process.argv.includes(`--${name}`)

const sizes = option('sizes', '256,512').split(',').map(Number)
// a subset, e.g. --pairs efficientdet/efficientnet-b0,fcos/resnet18
const PAIRS = option('pairs', ALL_PAIRS.map((p) => p.join('/')).join(','))
  .split(',')
  .map((p) => p.split('/'))
const inferenceOnly = flag('inference-only')
const backends = inferenceOnly ? [] : option('backends', 'wasm,cpu').split(',')
// the pure-JS CPU backend needs minutes per 512 px step (a ResNet-18 step: ~30 min): 256 px unless asked
const cpuSizes = option('cpu-sizes', '256').split(',').map(Number)
const steps = Number(option('steps', '3'))
// WASM: one thread, and the trainer's default two (a helper thread takes half of each batch)
const wasmThreads = option('threads', '1,2').split(',').map(Number)
// ONNX Runtime inference and the PyTorch inference it is compared with, on these thread counts
const onnxThreads = option('onnx-threads', '1,2').split(',').filter(Boolean).map(Number)
const onnxPython = option('onnx-python', process.env.ONNX_PYTHON ?? PYTHON)
const minutes = Number(option('minutes', '15'))
// the end-to-end comparison: demo variants x seeds (demo seed, and CXR Studio's and the peer's training
// seed, are --demo-seed, --demo-seed + 1, ...); another seed than development used gives data neither
// side has seen
const e2eOnly = flag('e2e')
const demos = option('demos', 'default,hard').split(',').filter(Boolean)
const demoSeed = Number(option('demo-seed', '42'))
const seeds = Array.from({ length: Number(option('seeds', '3')) }, (_, i) => demoSeed + i)
const outFile = resolve(option('out', join(ROOT, 'bench-results/train.json')))
// the demos, runs and submissions (removed first); one per invocation when several run in turn
const workDir = resolve(option('work', join(ROOT, 'bench-results/train-work')))

async function bundleRunner(name = 'bench-train-runner') {
  // beside the CLI bundle, so that the trainer finds gradient-worker.js next to it
  const outfile = join(ROOT, `out/node/${name}.js`)
  await build({ ...nodeBundleOptions, entryPoints: [join(ROOT, `scripts/${name}.ts`)], outfile })
  return outfile
}

async function throughput() {
  const runner = await bundleRunner()
  const onnxRunner = onnxThreads.length ? await bundleRunner('bench-onnx-runner') : null
  const rows = []
  const torch = existsSync(PYTHON) && (await hasPython('torch')) && (await hasPython('torchvision'))
  for (const size of sizes) {
    for (const [head, backbone] of PAIRS) {
      for (const backend of backends) {
        if (backend === 'cpu' && !cpuSizes.includes(size)) continue
        // the pure-JS CPU backend is ~10x slower: one small timed batch on one thread keeps the run bounded
        const batch = backend === 'cpu' ? 2 : 8
        const cpuSteps = backend === 'cpu' ? 1 : steps
        for (const threads of backend === 'cpu' ? [1] : wasmThreads) {
          const args = [
            runner,
            ...['--backend', backend, '--size', String(size), '--head', head, '--backbone', backbone],
            ...['--batch', String(batch), '--steps', String(cpuSteps), '--threads', String(threads)]
          ]
          const result = await run(process.execPath, args, { timeoutMs: 60 * 60_000, quiet: true })
          const row = lastJsonLine(result.stdout) ?? {
            backend,
            size,
            head,
            backbone,
            threads,
            error: result.stderr.trim().split('\n').pop()
          }
          rows.push(row)
          report(row)
        }
      }
      if (onnxRunner) await onnxInference(onnxRunner, rows, size, head, backbone, torch)
      if (torch && !inferenceOnly) {
        const torchArgs = [
          join(ROOT, 'scripts/bench-train-torch.py'),
          ...['--size', String(size), '--head', head, '--backbone', backbone, '--steps', String(steps)]
        ]
        const result = await run(PYTHON, torchArgs, { quiet: true, env: torchEnv })
        const parsed = lastJsonLine(result.stdout)
        const row = parsed
          ? { ...parsed, openblasCore: openblasCore(result.stderr) }
          : { backend: 'pytorch', size, head, backbone, error: result.stderr.trim().split('\n').pop() }
        // OpenMP threads spin while they wait for a preempted sibling, so on a shared machine a
        // two-thread process's CPU time overstates its work: the CPU-bound reference is one thread's
        // CPU time scaled to two free cores as if perfectly parallel (which flatters PyTorch)
        const single = lastJsonLine(
          (
            await run(PYTHON, [...torchArgs, '--threads', '1'], {
              quiet: true,
              env: { ...torchEnv, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' }
            })
          ).stdout
        )
        if (!row.error && single?.trainImgPerSecCpuBound)
          row.trainImgPerSecCpuBoundTwoCores = 2 * single.trainImgPerSecCpuBound
        rows.push(row)
        report(row)
        reportTrainingRatio(rows, size, head, backbone)
      }
    }
  }
  return rows
}

/**
 * ONNX Runtime inference of one pair on each of `onnxThreads`, each followed by PyTorch inference on
 * as many threads (interleaved: on a shared machine both see the same load), and their ratio.
 */
async function onnxInference(onnxRunner, rows, size, head, backbone, torch) {
  for (const threads of onnxThreads) {
    const args = [
      '--size',
      String(size),
      '--head',
      head,
      '--backbone',
      backbone,
      '--threads',
      String(threads)
    ]
    // the exported file in Python's onnxruntime too, once per pair
    const check = threads === onnxThreads[0] ? ['--python', onnxPython] : []
    const result = await run(
      process.execPath,
      [onnxRunner, ...args, '--steps', String(Math.max(steps, 5)), ...check],
      {
        timeoutMs: 30 * 60_000,
        quiet: true
      }
    )
    const row = lastJsonLine(result.stdout) ?? {
      backend: 'onnx',
      size,
      head,
      backbone,
      threads,
      error: result.stderr.trim().split('\n').pop()
    }
    rows.push(row)
    report(row)
    if (row.pythonCheck)
      process.stdout.write(
        row.pythonCheck.skipped
          ? `  export in Python's onnxruntime (${row.pythonCheck.python}): not checked (${row.pythonCheck.skipped})\n`
          : `  export in Python's onnxruntime ${row.pythonCheck.onnxruntime} (${row.pythonCheck.python}): loads, max |score diff| vs onnxruntime-node ${row.pythonCheck.maxScoreDiffVsNode.toExponential(1)}\n`
      )
    if (!torch || row.error) continue
    const peer = await run(
      PYTHON,
      [
        join(ROOT, 'scripts/bench-train-torch.py'),
        ...args,
        '--steps',
        String(Math.max(steps, 5)),
        '--infer-only'
      ],
      { quiet: true, env: torchEnv }
    )
    const parsed = lastJsonLine(peer.stdout)
    const torchRow = parsed
      ? { ...parsed, backend: 'pytorch-infer', openblasCore: openblasCore(peer.stderr) }
      : {
          backend: 'pytorch-infer',
          size,
          head,
          backbone,
          threads,
          error: peer.stderr.trim().split('\n').pop()
        }
    rows.push(torchRow)
    if (torchRow.error) {
      report(torchRow)
      continue
    }
    const ratio = row.inferNetImgPerSec / torchRow.inferImgPerSec
    // OpenMP threads spin while a preempted sibling runs, so a multi-thread PyTorch process's CPU time
    // overstates its work here: its reference is the larger of that and its one-thread figure x threads
    // (perfect scaling, which flatters PyTorch), as for training
    const oneThread = rows.find(
      (r) =>
        r.backend === 'pytorch-infer' &&
        !r.error &&
        r.threads === 1 &&
        r.size === size &&
        r.head === head &&
        r.backbone === backbone
    )
    const torchCpuBound = Math.max(
      torchRow.inferImgPerSecCpuBound,
      (oneThread?.inferImgPerSecCpuBound ?? 0) * threads
    )
    const cpuRatio = row.inferNetImgPerSecCpuBound / torchCpuBound
    process.stdout.write(
      `  inference, onnxruntime / pytorch on ${threads}t (OpenBLAS core ${torchRow.openblasCore}): wall clock ` +
        `${f(row.inferNetImgPerSec)} / ${f(torchRow.inferImgPerSec)} img/s = ${ratio.toFixed(2)}; CPU-bound (process CPU / threads) ` +
        `${f(row.inferNetImgPerSecCpuBound)} / ${f(torchCpuBound)} img/s = ${cpuRatio.toFixed(2)} (target >= 1); ` +
        `outputs vs tfjs: max |score diff| ${row.maxScoreDiffVsTfjs.toExponential(1)}  load ${loadavg()[0].toFixed(1)}\n`
    )
  }
}

const f = (v) => (typeof v === 'number' ? v.toFixed(2).padStart(7) : '      -')

/** tfjs WASM training (1 and 2 threads) as a fraction of PyTorch's on 2 threads, for one pair; target >= 1/3. */
function reportTrainingRatio(rows, size, head, backbone) {
  const of = (backend, threads) =>
    rows.find(
      (r) =>
        !r.error &&
        r.backend === backend &&
        r.size === size &&
        r.head === head &&
        r.backbone === backbone &&
        (threads === undefined || r.threads === threads)
    )
  const torch = of('pytorch')
  if (!torch) return
  const ratios = (key, torchKey = key) =>
    wasmThreads
      .map((threads) => [threads, of('wasm', threads)])
      .filter(([, row]) => row && row[key] && torch[torchKey])
      .map(([threads, row]) => `${threads}t ${(row[key] / torch[torchKey]).toFixed(2)}`)
      .join(', ')
  process.stdout.write(
    `  training, wasm / pytorch 2t (OpenBLAS core ${torch.openblasCore}): wall clock ${ratios('trainImgPerSec')}; ` +
      `CPU-bound (busiest thread's CPU time vs PyTorch's one-thread CPU time x 2: ${f(torch.trainImgPerSecCpuBoundTwoCores)} img/s) ` +
      `${ratios('trainImgPerSecCpuBound', 'trainImgPerSecCpuBoundTwoCores')} (target >= 0.33)  load ${loadavg()[0].toFixed(1)}\n`
  )
}

function report(row) {
  const what = `${row.backend.padEnd(8)} ${row.threads ?? '-'}t ${String(row.size).padStart(4)} px  ${row.head.padEnd(12)} ${row.backbone.padEnd(16)}`
  if (row.error) process.stdout.write(`${what} error: ${row.error}\n`)
  else
    process.stdout.write(
      `${what} train ${f(row.trainImgPerSec)} img/s (CPU-bound ${f(row.trainImgPerSecCpuBound)})  infer ${f(row.inferImgPerSec)} img/s  net ${f(row.inferNetImgPerSec ?? row.inferImgPerSec)} img/s  (${(row.parameters / 1e6).toFixed(2)}M params)  load ${loadavg()[0].toFixed(1)}\n`
    )
}

const started = new Date().toISOString()
const output = { started, loadAverageAtStart: loadavg() }
if (!flag('skip-throughput') && !e2eOnly) output.throughput = await throughput()
if (!flag('skip-peer')) output.endToEnd = await endToEnd({ demos, seeds, minutes, workDir })
output.loadAverageAtEnd = loadavg()
await mkdir(dirname(outFile), { recursive: true })
await writeFile(outFile, JSON.stringify(output, null, 2) + '\n')
process.stdout.write(
  `\nresults: ${outFile} (load average ${output.loadAverageAtStart.map((v) => v.toFixed(1)).join(' ')} -> ${output.loadAverageAtEnd.map((v) => v.toFixed(1)).join(' ')})\n`
)
