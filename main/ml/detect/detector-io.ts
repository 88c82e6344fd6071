// Saved detector format: a folder with `model.json` (the manifest: config, classes, input size,
// preprocessing, how it was initialised, and an index of the weights) and `weights.bin` (all
// weights as little-endian float32, concatenated in the index's order). model.json is written
// last, so a folder with a model.json always has the weights it describes.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { STUDY_CLASSES } from '../../../common/domain'
import { FileReadError, errorMessage } from '../../core/errors'
import { writeFileAtomic, writeJsonAtomic } from '../../core/fs-atomic'
import { packWeights, unpackWeights, type NamedWeights, type WeightEntry } from '../model/weights'
import type { DetectorConfig } from './config'
import type { Initialisation } from './detector'

export const MODEL_FORMAT = 'cxr-studio-detector'
export const MODEL_FORMAT_VERSION = 1
export const MODEL_FILE = 'model.json'
export const WEIGHTS_FILE = 'weights.bin'

export interface DetectorManifest {
  format: typeof MODEL_FORMAT
  formatVersion: number
  config: DetectorConfig
  /** Box classes, index-aligned with predicted labels. */
  classes: string[]
  /** Order of ImagePrediction.studyProbs. */
  studyClasses: string[]
  inputSize: { width: number; height: number; channels: 1 }
  preprocessing: {
    /** What the caller feeds: greyscale, VOI-windowed, MONOCHROME1 inverted, resized, scaled to [0, 1]. */
    input: string
    /** Applied inside the model: (x - mean) / std. */
    mean: number
    std: number
  }
  initialisation: Initialisation
  /** Free-form facts from the trainer (resize mode, epoch, metrics...). */
  metadata: Record<string, unknown>
  weightsFile: string
  weightsSha256: string
  weights: Array<WeightEntry & { kind: 'weight' | 'state' }>
  savedAt: string
}

export interface SavedModelContent {
  config: DetectorConfig
  initialisation: Initialisation
  metadata: Record<string, unknown>
  weights: NamedWeights
  /** Names of batch-norm statistics (kind 'state'). */
  stateNames: Set<string>
}

export async function writeSavedModel(dir: string, content: SavedModelContent): Promise<DetectorManifest> {
  const { entries, data } = packWeights(content.weights)
  const c = content.config
  const manifest: DetectorManifest = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    config: c,
    classes: c.classes,
    studyClasses: [...STUDY_CLASSES],
    inputSize: { width: c.imageSize, height: c.imageSize, channels: 1 },
    preprocessing: {
      input:
        'greyscale float32 in [0, 1]: modality LUT, VOI window, MONOCHROME1 inverted, resized to the input size',
      mean: c.inputMean,
      std: c.inputStd
    },
    initialisation: content.initialisation,
    metadata: content.metadata,
    weightsFile: WEIGHTS_FILE,
    weightsSha256: createHash('sha256').update(data).digest('hex'),
    weights: entries.map((e) => ({ ...e, kind: content.stateNames.has(e.name) ? 'state' : 'weight' })),
    savedAt: new Date().toISOString()
  }
  await writeFileAtomic(join(dir, WEIGHTS_FILE), data)
  await writeJsonAtomic(join(dir, MODEL_FILE), manifest)
  return manifest
}

export async function readDetectorManifest(dir: string): Promise<DetectorManifest> {
  const path = join(dir, MODEL_FILE)
  let manifest: DetectorManifest
  try {
    manifest = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new FileReadError(
      path,
      code === 'ENOENT'
        ? 'no saved model here (model.json not found)'
        : `unreadable model manifest (${errorMessage(err)})`
    )
  }
  if (manifest.format !== MODEL_FORMAT)
    throw new FileReadError(path, `not a CXR Studio detector (format ${JSON.stringify(manifest.format)})`)
  if (manifest.formatVersion > MODEL_FORMAT_VERSION) {
    throw new FileReadError(
      path,
      `saved by a newer CXR Studio (format version ${manifest.formatVersion}; this one reads ${MODEL_FORMAT_VERSION})`
    )
  }
  return manifest
}

/** Reads a folder written by writeSavedModel(), checking the weights against the manifest. */
export async function readSavedModel(
  dir: string
): Promise<{ manifest: DetectorManifest; weights: NamedWeights; weightsPath: string }> {
  const manifest = await readDetectorManifest(dir)
  const weightsPath = join(dir, manifest.weightsFile)
  let data: Buffer
  try {
    data = await readFile(weightsPath)
  } catch {
    throw new FileReadError(weightsPath, 'weights file named in model.json cannot be read')
  }
  if (createHash('sha256').update(data).digest('hex') !== manifest.weightsSha256) {
    throw new FileReadError(
      weightsPath,
      'weights do not match model.json (checksum differs): the save was interrupted or files were mixed'
    )
  }
  try {
    return { manifest, weights: unpackWeights(manifest.weights, data), weightsPath }
  } catch (err) {
    throw new FileReadError(weightsPath, errorMessage(err))
  }
}
