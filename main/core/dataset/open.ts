import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Dataset } from '../../../common/dataset'
import type { FileError, ProgressListener } from '../../../common/domain'
import { incompleteRetrievals } from '../dicomweb/cache'
import { indexFolder } from '../dicom/index-folder'
import { errorMessage, UserError } from '../errors'
import { IMAGE_CSV_FILE, parseImageCsv, parseStudyCsv, STUDY_CSV_FILE } from '../labels'
import { mergeDataset, type LabelTables } from './merge'

export interface OpenDatasetOptions {
  /** Workspace for the header index cache. */
  workspace?: string
  onProgress?: ProgressListener
  signal?: AbortSignal
}

/**
 * Opens a dataset folder: indexes every .dcm (header only), reads train_study_level.csv and
 * train_image_level.csv from the root when present, and merges them (see mergeDataset). A folder
 * without the CSVs is a valid unlabelled dataset. The folder is only read, never written.
 */
export async function openDataset(root: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const info = await stat(root).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(err.code === 'ENOENT' ? `${root}: no such folder` : `${root}: ${errorMessage(err)}`)
  })
  if (!info.isDirectory()) throw new UserError(`${root}: not a folder`)

  const index = await indexFolder(root, {
    workspace: options.workspace,
    onProgress: options.onProgress,
    signal: options.signal
  })
  options.signal?.throwIfAborted()

  options.onProgress?.({ stage: 'labels', done: 0, total: 2 })
  const csvErrors: FileError[] = []
  const studyText = await readOptional(root, STUDY_CSV_FILE, csvErrors)
  const imageText = await readOptional(root, IMAGE_CSV_FILE, csvErrors)
  const tables: LabelTables = {
    study: studyText === null ? null : { file: STUDY_CSV_FILE, ...parseStudyCsv(studyText, STUDY_CSV_FILE) },
    image: imageText === null ? null : { file: IMAGE_CSV_FILE, ...parseImageCsv(imageText, IMAGE_CSV_FILE) }
  }
  options.onProgress?.({ stage: 'labels', done: 2, total: 2 })

  const dataset = mergeDataset(index, tables)
  dataset.fileErrors.push(...csvErrors)
  // studies a DICOMweb pull left unfinished are not opened, but said: the folder is not whole
  dataset.fileErrors.push(...(await incompleteRetrievals(root)))
  return dataset
}

/** The file's text, or null when it does not exist; an unreadable file becomes a FileError. */
async function readOptional(root: string, name: string, errors: FileError[]): Promise<string | null> {
  try {
    return await readFile(join(root, name), 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return null
    errors.push({ path: name, reason: `cannot read the label file: ${code ?? errorMessage(err)}` })
    return null
  }
}
