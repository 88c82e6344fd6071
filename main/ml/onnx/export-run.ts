// `cxr-studio export-onnx`: a run's checkpoint written as an ONNX model for other tools, checked by
// loading it in ONNX Runtime when the binding is here. Never written inside the run's dataset or
// over the checkpoint it reads; written atomically.
import { join } from 'node:path'
import { writeFileAtomic } from '../../core/fs-atomic'
import { assertOutputAllowed, datasetSource, inputSource, type ReadOnlySource } from '../../core/write-target'
import { initBackend } from '../backend/ladder'
import type { CheckpointName } from '../runs/checkpoint'
import { loadCheckpoint } from '../runs/checkpoint'
import { readRunConfig } from '../runs/run-folder'
import type { RunConfigFile } from '../train/run-record'
import { resolveCheckpoint } from '../predict/run'
import type { TrainerState } from '../train/trainer'
import { exportDetectorOnnx } from './export'
import { loadOnnxRuntime } from './runtime'

export interface OnnxExportResult {
  out: string
  bytes: number
  checkpoint: { dir: string; name: CheckpointName; epoch: number }
  head: string
  backbone: string
  imageSize: number
  inputName: string
  outputNames: string[]
  /** `onnxruntime-node 1.30.0` when the written file was opened there, else why it was not checked. */
  loadCheck: { loaded: boolean; by: string }
}

export async function exportRunOnnx(
  run: string,
  out: string,
  options: { checkpoint?: CheckpointName } = {}
): Promise<OnnxExportResult> {
  const config = await readRunConfig<RunConfigFile>(run)
  const checkpoint = await resolveCheckpoint(run, options.checkpoint)
  const sources: ReadOnlySource[] = [
    inputSource(join(checkpoint.dir, 'model.json')),
    inputSource(join(checkpoint.dir, 'weights.bin'))
  ]
  if (config.train?.dataset) sources.push(datasetSource(config.train.dataset))
  await assertOutputAllowed(out, sources)
  // the weights only need a tfjs backend to live in; the pure-JS one starts fastest
  await initBackend('cpu')
  const { detector, meta } = await loadCheckpoint<TrainerState>(checkpoint.dir)
  try {
    const model = exportDetectorOnnx(detector, {
      run,
      checkpoint: checkpoint.name,
      epoch: String(meta.epoch),
      globalStep: String(meta.globalStep)
    })
    await writeFileAtomic(out, model.bytes)
    return {
      out,
      bytes: model.bytes.length,
      checkpoint: { dir: checkpoint.dir, name: checkpoint.name, epoch: meta.epoch },
      head: detector.config.head,
      backbone: detector.config.backbone,
      imageSize: detector.config.imageSize,
      inputName: model.inputName,
      outputNames: model.outputNames,
      loadCheck: await checkLoads(out)
    }
  } finally {
    detector.dispose()
  }
}

async function checkLoads(file: string): Promise<OnnxExportResult['loadCheck']> {
  const { ort, reason } = await loadOnnxRuntime()
  if (!ort) return { loaded: false, by: reason ?? 'onnxruntime-node is not available' }
  const session = await ort.InferenceSession.create(file)
  await session.release()
  return { loaded: true, by: `onnxruntime-node ${ort.env.versions?.node ?? ''}`.trim() }
}
