// The hand-off recipes next to a YOLO or COCO export, made through the built CLI as a user makes them:
// the shell recipe runs (with a stand-in `yolo` that records its arguments) on paths that exist,
// the torchrun script compiles and trains one iteration on CPU and exports ONNX, and each README's
// import line names the real folder; the model it trains comes back through import-model, evaluates
// and submits.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../cli'
import { demoDataset, tempDir } from '../ml/helpers'

const PYTHON = '/usr/bin/python3'
const torchCheck = spawnSync(PYTHON, ['-c', 'import torch, torchvision, PIL, onnx'], { encoding: 'utf8' })
const hasTorch = torchCheck.status === 0
if (!hasTorch)
  console.warn(
    `recipes.test.ts: skipping the torchvision training run: ${PYTHON} cannot import torch, torchvision, PIL and onnx (${(torchCheck.stderr || torchCheck.error?.message || '').trim().split('\n').pop()})`
  )

let root: string
let workspace: string
let dir: string

beforeAll(async () => {
  root = await demoDataset({ studies: 12, testStudies: 3 })
  workspace = await tempDir('ws')
  dir = await tempDir('recipes')
})

async function exportWith(format: 'yolo' | 'coco', out: string, extra: string[] = []): Promise<void> {
  const result = await runCli(['--workspace', workspace, format, root, '--out', out, ...extra])
  if (result.code !== 0) throw new Error(`cxr-studio ${format} exited ${result.code}: ${result.stderr}`)
}

describe('YOLO export recipes', () => {
  it("train-ultralytics.sh runs yolo on the export's dataset.yaml, one GPU or four, exports ONNX and prints the import line", async () => {
    const out = join(dir, 'yolo export')
    await exportWith('yolo', out, ['--size', '256'])
    const script = join(out, 'train-ultralytics.sh')
    expect(spawnSync('sh', ['-n', script]).status).toBe(0)
    // a stand-in `yolo`: records its arguments, and `export` writes best.onnx as Ultralytics would
    const bin = join(dir, 'bin')
    await mkdir(bin, { recursive: true })
    const log = join(dir, 'yolo.log')
    await writeFile(
      join(bin, 'yolo'),
      `#!/bin/sh\n(IFS='|'; printf '%s\\n' "$*") >> '${log}'\nfor a in "$@"; do case "$a" in model=*.pt) m="\${a#model=}"; [ "$1" = export ] && mkdir -p "$(dirname "$m")" && : > "\${m%.pt}.onnx";; esac; done\n`
    )
    await chmod(join(bin, 'yolo'), 0o755)
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` }
    const single = spawnSync('sh', [script], { env, encoding: 'utf8' })
    expect(single.status, single.stderr).toBe(0)
    const multi = spawnSync('sh', [script, 'multi'], { env, encoding: 'utf8' })
    expect(multi.status, multi.stderr).toBe(0)
    const calls = (await readFile(log, 'utf8')).trim().split('\n')
    expect(calls).toHaveLength(4)
    // one argument each, as yolo receives them
    const args = calls.map((line) => line.split('|'))
    const arg = (call: string[], key: string) =>
      call.find((a) => a.startsWith(`${key}=`))?.slice(key.length + 1)
    expect(args[0].slice(0, 2)).toEqual(['detect', 'train'])
    expect(arg(args[0], 'device')).toBe('0')
    expect(arg(args[2], 'device')).toBe('0,1,2,3')
    expect(arg(args[0], 'data')).toBe(join(out, 'dataset.yaml'))
    expect(existsSync(arg(args[0], 'data')!)).toBe(true)
    expect(arg(args[0], 'imgsz')).toBe('256')
    expect(args[1][0]).toBe('export')
    expect(arg(args[1], 'model')).toBe(join(out, 'ultralytics', 'train', 'weights', 'best.pt'))
    expect(arg(args[1], 'format')).toBe('onnx')
    const importLine = single.stdout.trim().split('\n').pop()!
    const onnx = join(out, 'ultralytics', 'train', 'weights', 'best.onnx')
    // the folder's name has a space: the paths are quoted for sh
    expect(importLine).toBe(
      `cxr-studio import-model '${onnx}' --format yolov8 --input-size 256 --dataset ${root} --out '${join(workspace, 'runs', 'yolo export-yolov8')}'`
    )
    expect(existsSync(onnx)).toBe(true)
    const readme = await readFile(join(out, 'README.md'), 'utf8')
    expect(readme).toContain(`cxr-studio import-model '${onnx}' --format yolov8`)
    expect(readme).toContain('device=0,1,2,3')
  })

  it('--no-recipes writes none', async () => {
    const out = join(dir, 'yolo-bare')
    await exportWith('yolo', out, ['--size', '128', '--no-recipes'])
    expect(existsSync(join(out, 'dataset.yaml'))).toBe(true)
    expect(existsSync(join(out, 'train-ultralytics.sh'))).toBe(false)
    expect(existsSync(join(out, 'README.md'))).toBe(false)
  })
})

describe('COCO export recipes', () => {
  let out: string
  beforeAll(async () => {
    out = join(dir, 'coco')
    await exportWith('coco', out, ['--images', 'png8', '--size', '256'])
  })

  it("train_torchvision.py is valid Python with the export's paths as defaults; the README has torchrun and the import line", async () => {
    const script = join(out, 'train_torchvision.py')
    const compiled = spawnSync(PYTHON, ['-m', 'py_compile', script], { encoding: 'utf8' })
    expect(compiled.status, compiled.stderr).toBe(0)
    const text = await readFile(script, 'utf8')
    expect(text.startsWith('#!/usr/bin/env python3\n')).toBe(true)
    expect(text).toContain(`DEFAULT_COCO = ${JSON.stringify(out)}`)
    expect(text).toContain('DEFAULT_SIZE = 256')
    const readme = await readFile(join(out, 'README.md'), 'utf8')
    expect(readme).toContain(`torchrun --nproc_per_node=4 ${script} --coco ${out} --images ${out}`)
    expect(readme).toContain(
      `cxr-studio import-model ${join(out, 'torchvision', 'model.onnx')} --format torchvision --dataset ${root}`
    )
  })

  it.runIf(hasTorch)(
    'train_torchvision.py trains one iteration on CPU in a one-process gloo group, checkpoints, and exports the ONNX import-model expects',
    async () => {
      const run = join(dir, 'tv-out')
      const result = spawnSync(
        'nice',
        [
          '-n',
          '10',
          PYTHON,
          join(out, 'train_torchvision.py'),
          '--device',
          'cpu',
          '--max-iters',
          '1',
          '--world-size',
          '1',
          '--workers',
          '0',
          '--batch-size',
          '2',
          '--model',
          'fasterrcnn_mobilenet_v3_large_320_fpn',
          '--out',
          run
        ],
        { encoding: 'utf8', timeout: 280_000 }
      )
      expect(result.status, result.stderr.slice(-2000)).toBe(0)
      expect(result.stdout).toMatch(/9 train images, 1 class\(es\), 1 process\(es\) on CPU/)
      expect(result.stdout).toMatch(/epoch 1\/20: loss \d+\.\d+ over 1 step\(s\)/)
      expect(existsSync(join(run, 'checkpoint-last.pt'))).toBe(true)
      const onnx = join(run, 'model.onnx')
      expect(existsSync(onnx)).toBe(true)
      const io = spawnSync(
        PYTHON,
        [
          '-c',
          'import onnx,sys,json; m=onnx.load(sys.argv[1]); d=lambda v:[x.dim_value or x.dim_param for x in v.type.tensor_type.shape.dim]; print(json.dumps({"in":[(i.name,d(i)) for i in m.graph.input],"out":[(o.name,d(o)) for o in m.graph.output]}))',
          onnx
        ],
        { encoding: 'utf8' }
      )
      expect(io.status, io.stderr).toBe(0)
      const graph = JSON.parse(io.stdout)
      expect(graph.in).toEqual([['image', [3, 256, 256]]])
      expect(graph.out.map((o: [string, unknown[]]) => [o[0], o[1].length])).toEqual([
        ['boxes', 2],
        ['labels', 1],
        ['scores', 1]
      ])

      // the hand-off back: the model this recipe trained becomes a run that evaluates and submits
      const imported = join(dir, 'tv-imported')
      const cli = (args: string[]) => runCli(['--workspace', workspace, ...args])
      const made = await cli([
        'import-model',
        onnx,
        '--format',
        'torchvision',
        '--dataset',
        root,
        '--out',
        imported
      ])
      expect(made.code, made.stderr).toBe(0)
      const evaluated = await cli(['evaluate', imported, root, '--json'])
      expect(evaluated.code, evaluated.stderr).toBe(0)
      const report = JSON.parse(evaluated.stdout)
      expect(report.final).toBeGreaterThanOrEqual(0)
      expect(report.final).toBeLessThanOrEqual(1)
      const submission = join(dir, 'tv-submission.csv')
      const submitted = await cli(['submit', imported, root, '--out', submission])
      expect(submitted.code, submitted.stderr).toBe(0)
      const ids = (await readFile(submission, 'utf8')).trim().split('\n').slice(1)
      const sample = (await readFile(join(root, 'sample_submission.csv'), 'utf8')).trim().split('\n').slice(1)
      expect(ids.map((row) => row.split(',')[0]).sort()).toEqual(
        sample.map((row) => row.split(',')[0]).sort()
      )
    },
    420_000
  )
})
