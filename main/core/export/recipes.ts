// Hand-off recipes written next to a YOLO or COCO export, for training on GPUs elsewhere: the
// Ultralytics command lines (one and several GPUs) or a torchrun DDP script for a torchvision
// detector, the ONNX export, and the `cxr-studio import-model` line that brings the model back —
// every path filled in with the export's own. README.md says the same in words.
import { chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../fs-atomic'
import type { ExportPlan } from './plan'
import { TRAIN_TORCHVISION_PY } from './torchvision-script'

export interface RecipeOptions {
  /** The folder `import-model --out` should create the imported run under (the workspace's runs/). */
  runsDir: string
}

/** A command the Export view offers to copy, and the CLI prints. */
export interface RecipeCommand {
  label: string
  command: string
}

export interface Recipes {
  /** Files written, relative to the export folder. */
  files: string[]
  commands: RecipeCommand[]
}

export const RECIPE_FILES = {
  ultralytics: 'train-ultralytics.sh',
  torchvision: 'train_torchvision.py',
  readme: 'README.md'
} as const

/** Single-quoted for sh: safe for any path. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}

/** The model's square input side: the exported size, else 1024 (a common CXR detector size), a multiple of 32. */
function modelSize(plan: ExportPlan): number {
  const size = plan.options.images?.size ?? 1024
  return Math.max(32, Math.ceil(size / 32) * 32)
}

function importRunDir(options: RecipeOptions, outDir: string, suffix: string): string {
  const name = outDir.split(/[\\/]/).filter(Boolean).pop() ?? 'export'
  return join(options.runsDir, `${name}-${suffix}`)
}

const EPOCHS = 50

export async function writeYoloRecipes(
  plan: ExportPlan,
  outDir: string,
  datasetRoot: string,
  options: RecipeOptions
): Promise<Recipes> {
  const q = shellQuote
  const size = modelSize(plan)
  const data = join(outDir, 'dataset.yaml')
  const project = join(outDir, 'ultralytics')
  const weights = join(project, 'train', 'weights')
  const run = importRunDir(options, outDir, 'yolov8')
  const common = `data=${q(data)} model=yolov8s.pt imgsz=${size} epochs=${EPOCHS}`
  const tail = `project=${q(project)} name=train exist_ok=True`
  const single = `yolo detect train ${common} batch=16 device=0 ${tail}`
  const multi = `yolo detect train ${common} batch=64 device=0,1,2,3 ${tail}`
  const onnx = `yolo export model=${q(join(weights, 'best.pt'))} format=onnx opset=12 imgsz=${size}`
  const back = `cxr-studio import-model ${q(join(weights, 'best.onnx'))} --format yolov8 --input-size ${size} --dataset ${q(datasetRoot)} --out ${q(run)}`
  const script = [
    '#!/bin/sh',
    `# Train Ultralytics YOLOv8 on the CXR Studio export in ${outDir}, export ONNX, and say how to bring it back.`,
    '# Needs `pip install ultralytics` and CUDA GPUs. Usage:',
    `#   sh ${RECIPE_FILES.ultralytics}          one GPU (device=0)`,
    `#   sh ${RECIPE_FILES.ultralytics} multi    four GPUs (device=0,1,2,3: Ultralytics starts DDP itself; batch is the total)`,
    'set -eu',
    'case "${1:-single}" in',
    `  single) ${single} ;;`,
    `  multi) ${multi} ;;`,
    `  *) echo "usage: sh ${RECIPE_FILES.ultralytics} [single|multi]" >&2; exit 2 ;;`,
    'esac',
    onnx,
    'echo "Bring the model back into CXR Studio:"',
    `echo ${q(back)}`,
    ''
  ].join('\n')
  await writeFileAtomic(join(outDir, RECIPE_FILES.ultralytics), script)
  await chmod(join(outDir, RECIPE_FILES.ultralytics), 0o755)
  const commands: RecipeCommand[] = [
    { label: 'Train on one GPU', command: single },
    { label: 'Train on four GPUs (DDP)', command: multi },
    { label: 'Export to ONNX', command: onnx },
    { label: 'Bring the model back', command: back }
  ]
  await writeFileAtomic(
    join(outDir, RECIPE_FILES.readme),
    readme({
      title: 'YOLO (Ultralytics layout)',
      outDir,
      datasetRoot,
      plan,
      contents: [
        '`dataset.yaml`: the Ultralytics dataset file (absolute `path:`, `train: images/train`, `val: images/val`, class names)',
        '`images/{train,val}/*.png`, `labels/{train,val}/*.txt`: one label line per box, `class cx cy w h` normalised to the image',
        `\`${RECIPE_FILES.ultralytics}\`: the commands below in a script (\`sh ${RECIPE_FILES.ultralytics}\` or \`sh ${RECIPE_FILES.ultralytics} multi\`)`
      ],
      train: [
        'Install Ultralytics (`pip install ultralytics`) on the GPU machine; keep this folder at the same path, or edit `path:` in dataset.yaml.',
        '',
        'One GPU:',
        fence(single),
        'Several GPUs of one machine (Ultralytics starts DDP itself; `batch` is the total over the GPUs):',
        fence(multi)
      ],
      onnx: [
        fence(onnx),
        `This writes \`${join(weights, 'best.onnx')}\` (input \`images\` [1, 3, ${size}, ${size}], output [1, 4 + classes, N]).`
      ],
      back: [
        fence(back),
        'The imported run then works like a trained one: `cxr-studio predict|evaluate|submit RUN DIR`, the Runs, Predict and Evaluation views, and ensembles (`cxr-studio ensemble`).'
      ]
    })
  )
  return { files: [RECIPE_FILES.ultralytics, RECIPE_FILES.readme], commands }
}

export async function writeCocoRecipes(
  plan: ExportPlan,
  outDir: string,
  datasetRoot: string,
  options: RecipeOptions
): Promise<Recipes> {
  const q = shellQuote
  const size = modelSize(plan)
  const checkpoints = join(outDir, 'torchvision')
  const script = join(outDir, RECIPE_FILES.torchvision)
  const images = plan.options.images ? outDir : datasetRoot
  const run = importRunDir(options, outDir, 'torchvision')
  const args = `--coco ${q(outDir)} --images ${q(images)} --out ${q(checkpoints)} --size ${size} --epochs 20`
  const single = `python3 ${q(script)} ${args}`
  const multi = `torchrun --nproc_per_node=4 ${q(script)} ${args}`
  const back = `cxr-studio import-model ${q(join(checkpoints, 'model.onnx'))} --format torchvision --dataset ${q(datasetRoot)} --out ${q(run)}`
  const python = TRAIN_TORCHVISION_PY.trimStart()
    .replace('__COCO_DIR__', JSON.stringify(outDir))
    .replace('__OUT_DIR__', JSON.stringify(checkpoints))
    .replace('__IMAGE_SIZE__', String(size))
  await writeFileAtomic(script, python)
  await chmod(script, 0o755)
  const commands: RecipeCommand[] = [
    { label: 'Train on one GPU (or CPU)', command: single },
    { label: 'Train on four GPUs (torchrun, DDP)', command: multi },
    { label: 'Bring the model back', command: back }
  ]
  await writeFileAtomic(
    join(outDir, RECIPE_FILES.readme),
    readme({
      title: 'COCO',
      outDir,
      datasetRoot,
      plan,
      contents: [
        '`train.json`, `val.json`: COCO detection files (`bbox` [x, y, w, h] in pixels of the image each describes; category ids from 1)',
        plan.options.images
          ? '`images/{train,val}/*.png`: the exported images (`file_name` is relative to this folder)'
          : `no images: \`file_name\` is the DICOM path relative to ${datasetRoot} (the script reads DICOMs with pydicom, with the app's VOI)`,
        `\`${RECIPE_FILES.torchvision}\`: a torchrun/DDP fine-tuning script for a torchvision Faster R-CNN (DistributedSampler, AMP on CUDA, a checkpoint per epoch, \`--resume\`, ONNX export at the end); \`python3 ${RECIPE_FILES.torchvision} --help\` lists its options`
      ],
      train: [
        "Needs torch and torchvision (Pillow; pydicom for an export without images). The defaults are this folder's paths.",
        '',
        'One GPU, or CPU:',
        fence(single),
        'Several GPUs of one machine (one process per GPU; `--batch-size` is per GPU):',
        fence(multi),
        'Several machines: `torchrun --nnodes=2 --node_rank=R --master_addr=HOST --nproc_per_node=4 …` with the same arguments.',
        `A smoke test on CPU: \`python3 ${RECIPE_FILES.torchvision} --device cpu --max-iters 1 --model fasterrcnn_mobilenet_v3_large_320_fpn --workers 0\`.`
      ],
      onnx: [
        `The script exports \`${join(checkpoints, 'model.onnx')}\` when training ends: input \`image\` [3, ${size}, ${size}] float 0–1 (greyscale repeated to RGB), outputs \`boxes\` [N, 4] (x1 y1 x2 y2, input pixels), \`labels\` [N] (0 is background), \`scores\` [N]. Checkpoints: \`${join(checkpoints, 'checkpoint-last.pt')}\`.`
      ],
      back: [
        fence(back),
        'Every foreground label is taken as opacity (`--classes` chooses otherwise). The imported run then works like a trained one: `cxr-studio predict|evaluate|submit RUN DIR`, the Runs, Predict and Evaluation views, and ensembles (`cxr-studio ensemble`).'
      ]
    })
  )
  return { files: [RECIPE_FILES.torchvision, RECIPE_FILES.readme], commands }
}

function fence(command: string): string {
  return ['```sh', command, '```'].join('\n')
}

function readme(parts: {
  title: string
  outDir: string
  datasetRoot: string
  plan: ExportPlan
  contents: string[]
  train: string[]
  onnx: string[]
  back: string[]
}): string {
  const { options } = parts.plan
  return [
    `# CXR Studio ${parts.title} export`,
    '',
    `Exported from \`${parts.datasetRoot}\` to \`${parts.outDir}\`: policy ${options.policy}, validation fraction ${options.valFraction} ` +
      `(split by study, seed ${options.seed}), categories ${options.categories}${options.images ? `, ${options.images.format} images${options.images.size ? ` (longest side ${options.images.size} px)` : ''}` : ''}.`,
    '',
    '## What is in this folder',
    '',
    ...parts.contents.map((line) => `- ${line}`),
    '',
    '## Train on one or many GPUs',
    '',
    ...parts.train,
    '',
    '## Export to ONNX',
    '',
    ...parts.onnx,
    '',
    '## Bring the model back into CXR Studio',
    '',
    ...parts.back,
    ''
  ].join('\n')
}
