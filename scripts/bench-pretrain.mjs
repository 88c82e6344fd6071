#!/usr/bin/env node
// What a backbone pretrained here gains over random initialisation (issue 12, point 5): one figure,
// on one seed, at a short budget — a first measurement, not a conclusion.
//   1. a larger default demo (--pretrain-studies, its own seed) and CXR Studio's defaults trained on
//      it for --pretrain-minutes; its backbone written as a TF.js Layers file
//      (scripts/export-backbone-runner.ts -> main/ml/model/pretrained.ts writeBackboneLayersModel);
//   2. on the hard demo (seed --seed), for --minutes each and one after another: random
//      initialisation (the defaults), `--pretrained` with the fine-tuning defaults (AdamW 1e-4,
//      freeze_unfreeze:10), and `--pretrained` trained whole (no_freeze, lr --whole-lr);
//   3. each submitted on the hard demo's test split and scored (scripts/bench-e2e.mjs).
// Options: --pretrain-studies 400  --pretrain-minutes 10  --minutes 5  --seed 42  --whole-lr 0.003
//          --out bench-results/pretrain.json
import { build } from 'esbuild'
import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { cxrStudio } from './bench-e2e.mjs'
import { CLI, ROOT, lastJsonLine, run } from './bench-process.mjs'
import { nodeBundleOptions } from './esbuild-node.mjs'

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const pretrainStudies = option('pretrain-studies', '400')
const pretrainMinutes = Number(option('pretrain-minutes', '10'))
const minutes = Number(option('minutes', '5'))
const seed = Number(option('seed', '42'))
const wholeLr = option('whole-lr', '0.003')
const outFile = resolve(option('out', join(ROOT, 'bench-results/pretrain.json')))
const workDir = join(ROOT, 'bench-results/pretrain-work')

async function demo(dir, args) {
  const made = await run(process.execPath, [CLI, 'demo', dir, ...args, '--json'], { quiet: true })
  if (made.code !== 0) throw new Error(`demo ${args.join(' ')}: ${made.stderr.trim().split('\n').pop()}`)
}

await rm(workDir, { recursive: true, force: true })
await mkdir(workDir, { recursive: true })
const output = { started: new Date().toISOString(), loadAverageAtStart: loadavg(), seed, minutes }

// 1. pretraining on a larger default demo; another seed than the hard demo's
const pretrainDemo = join(workDir, 'pretrain-demo')
const pretrainSeed = 1000 + seed
await demo(pretrainDemo, [
  '--studies',
  pretrainStudies,
  '--test-studies',
  '4',
  '--seed',
  String(pretrainSeed)
])
const pretrain = await cxrStudio(
  { demo: `default x${pretrainStudies}`, seed: pretrainSeed, minutes: pretrainMinutes },
  pretrainDemo,
  workDir,
  { tool: 'pretraining' }
)
output.pretraining = pretrain
const runner = join(ROOT, 'out/node/export-backbone-runner.js')
await build({
  ...nodeBundleOptions,
  entryPoints: [join(ROOT, 'scripts/export-backbone-runner.ts')],
  outfile: runner
})
const backboneDir = join(workDir, 'backbone')
const exported = await run(process.execPath, [runner, join(workDir, 'pretraining'), '--out', backboneDir], {
  quiet: true
})
const backbone = lastJsonLine(exported.stdout)
if (!backbone) throw new Error(`backbone export failed: ${exported.stderr.trim().split('\n').pop()}`)
output.backbone = { ...backbone, shardBytes: (await stat(join(backboneDir, 'group1-shard1of1.bin'))).size }
process.stdout.write(
  `backbone pretrained here: ${backbone.layers} layers, ${(backbone.bytes / 1e6).toFixed(2)} MB (${backbone.checkpoint} checkpoint of ${pretrain.epochs} epochs on ${pretrainStudies} studies)\n`
)

// 2. the hard demo: random init vs the pretrained backbone, same budget and seed
const hard = join(workDir, 'hard-demo')
await demo(hard, ['--hard', '--seed', String(seed)])
const base = { demo: 'hard', seed, minutes }
output.runs = [
  await cxrStudio(base, hard, workDir, { tool: 'random-init' }),
  await cxrStudio(base, hard, workDir, {
    tool: 'pretrained-recipe',
    trainArgs: ['--pretrained', backbone.modelJson]
  }),
  await cxrStudio(base, hard, workDir, {
    tool: 'pretrained-whole',
    trainArgs: ['--pretrained', backbone.modelJson, '--strategy', 'no_freeze', '--lr', wholeLr]
  })
]
output.loadAverageAtEnd = loadavg()
await mkdir(dirname(outFile), { recursive: true })
await writeFile(outFile, JSON.stringify(output, null, 2) + '\n')
process.stdout.write(
  `\nresults: ${outFile} (load average ${output.loadAverageAtStart.map((v) => v.toFixed(1)).join(' ')} -> ${output.loadAverageAtEnd.map((v) => v.toFixed(1)).join(' ')})\n`
)
