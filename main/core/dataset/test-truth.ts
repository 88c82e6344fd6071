// The held-out truth of a test split, when a folder carries it: the demo writes test_study_level.csv
// and test_image_level.csv beside test/, in the train formats, so predictions on test/ can be scored.
// The Kaggle download has no such files; then test images simply have no truth.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ImageLabel, StudyLabel } from '../../../common/dataset'
import { errorMessage } from '../errors'
import { formatLabelError, parseImageCsv, parseStudyCsv } from '../labels'

export const TEST_TRUTH_FILES = { study: 'test_study_level.csv', image: 'test_image_level.csv' } as const

export interface TestTruth {
  studies: Map<string, StudyLabel>
  images: Map<string, ImageLabel>
  /** Rows that could not be read, as `file:line: reason` (the other rows still count). */
  problems: string[]
}

/**
 * Reads both truth files from `root`, or returns null when either is absent (as `evaluate` does, the
 * truth exists only as a pair). A file that exists but cannot be read is a problem, not a crash: the
 * dataset still opens, without test truth.
 */
export async function readTestTruth(root: string): Promise<TestTruth | null> {
  let texts: Array<string | null>
  try {
    texts = await Promise.all([
      readTruthFile(root, TEST_TRUTH_FILES.study),
      readTruthFile(root, TEST_TRUTH_FILES.image)
    ])
  } catch (err) {
    return { studies: new Map(), images: new Map(), problems: [errorMessage(err)] }
  }
  const [studyText, imageText] = texts
  if (studyText === null || imageText === null) return null
  const study = parseStudyCsv(studyText, TEST_TRUTH_FILES.study)
  const image = parseImageCsv(imageText, TEST_TRUTH_FILES.image)
  return {
    studies: new Map(study.labels.map((label) => [label.studyId, label])),
    images: new Map(image.labels.map((label) => [label.imageId, label])),
    problems: [...study.errors, ...image.errors].map(formatLabelError)
  }
}

/** The file's text, or null when it does not exist. */
async function readTruthFile(root: string, name: string): Promise<string | null> {
  try {
    return await readFile(join(root, name), 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return null
    throw new Error(`${name}: cannot read the truth file: ${code ?? errorMessage(err)}`)
  }
}
