// Shared fixtures for the training/prediction tests: small demo datasets generated on the fly
// (nothing committed), and a display source that counts decodes.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateDemo } from '../../main/core/demo'
import { formatImageCsv, parseImageCsv } from '../../main/core/labels'
import { inProcessDisplaySource } from '../../main/ml/data/display-source'
import type { DisplaySource } from '../../main/ml/data/tensor-cache'

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `cxr-${prefix}-`))
}

/** A demo dataset (Kaggle layout, 8 train studies + 3 test studies by default). */
export async function demoDataset(
  options: { studies?: number; testStudies?: number; seed?: number } = {}
): Promise<string> {
  const dir = await tempDir('demo')
  await generateDemo(dir, {
    studies: options.studies ?? 8,
    testStudies: options.testStudies ?? 3,
    seed: options.seed ?? 7
  })
  return dir
}

/** Rewrites a dataset's image labels so that no image has a box. */
export async function removeAllBoxes(dir: string): Promise<void> {
  const path = join(dir, 'train_image_level.csv')
  const { labels } = parseImageCsv(await readFile(path, 'utf8'))
  await writeFile(path, formatImageCsv(labels.map((l) => ({ ...l, boxes: [], label: 'none 1 0 0 1 1' }))))
}

export function countingSource(): DisplaySource & { calls: number } {
  const source = {
    calls: 0,
    async render(absPath: string, relPath: string) {
      source.calls++
      return inProcessDisplaySource.render(absPath, relPath)
    }
  }
  return source
}

/** `cxr-studio train` arguments for the smallest real run the CLI tests train (1 epoch, 128 px, WASM). */
export function tinyTrainArgs(workspace: string, dataset: string, out: string): string[] {
  return [
    '--workspace',
    workspace,
    'train',
    dataset,
    '--out',
    out,
    '--epochs',
    '1',
    '--image-size',
    '128',
    '--width-multiplier',
    '0.25',
    '--depth-multiplier',
    '0.25',
    '--batch-size',
    '4',
    '--val-fraction',
    '0.25',
    '--backend',
    'wasm'
  ]
}
