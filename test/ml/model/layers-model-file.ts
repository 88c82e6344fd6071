// Writes TF.js Layers model files (model.json + binary shards) as tensorflowjs_converter does, for
// the pretrained-import tests.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface LayersModelWeight {
  name: string
  shape: number[]
  values: ArrayLike<number>
  dtype?: string
  quantization?: object
  /** Raw bytes instead of float32 `values` (quantised or integer weights). */
  bytes?: Uint8Array
}

/** Writes `<dir>/<name>.json` whose weights are split over two shard files; returns its path. */
export async function writeLayersModel(
  dir: string,
  name: string,
  weights: LayersModelWeight[]
): Promise<string> {
  const parts = weights.map((w) => w.bytes ?? new Uint8Array(Float32Array.from(w.values).buffer))
  const all = Buffer.concat(parts)
  const half = Math.floor(all.length / 2)
  await writeFile(join(dir, `${name}-shard1of2.bin`), all.subarray(0, half))
  await writeFile(join(dir, `${name}-shard2of2.bin`), all.subarray(half))
  const manifest = {
    format: 'layers-model',
    generatedBy: 'keras v2.11.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: {},
    weightsManifest: [
      {
        paths: [`${name}-shard1of2.bin`, `${name}-shard2of2.bin`],
        weights: weights.map((w) => ({
          name: w.name,
          shape: w.shape,
          dtype: w.dtype ?? 'float32',
          ...(w.quantization ? { quantization: w.quantization } : {})
        }))
      }
    ]
  }
  const path = join(dir, `${name}.json`)
  await writeFile(path, JSON.stringify(manifest))
  return path
}
