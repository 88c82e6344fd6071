// The steps every export shares: plan, check the output folder, write images, write label files.
import { resolve } from 'node:path'
import type { Dataset } from '../../../common/dataset'
import type { FileError, ProgressListener } from '../../../common/domain'
import { UserError, errorMessage } from '../errors'
import {
  PNG16_PIXELS,
  PNG8_PIXELS,
  writeExportImages,
  type ExportFileWriter,
  type PixelDecoder,
  type WrittenImages
} from './images'
import { removeStaleTemps } from '../temp-files'
import { assertOutputAllowed, datasetSource } from '../write-target'
import { planExport, type ExportPlan, type PlannedImage, type PlanOptions } from './plan'
import type { RecipeCommand, RecipeOptions } from './recipes'

export interface ExportOptions extends PlanOptions {
  outDir: string
  /** Decodes DICOMs for image export; default: a decode pool opened (and closed) for this export. */
  decoder?: PixelDecoder
  /** How PNGs are written (default writeFileAtomic; tests simulate a full disk). */
  writeFile?: ExportFileWriter
  /** Images decoded and written at once (default 4). */
  concurrency?: number
  onProgress?: ProgressListener
  signal?: AbortSignal
  /** Also write the hand-off recipes (training scripts, README) next to the export (recipes.ts). */
  recipes?: RecipeOptions
}

export interface SubsetSummary {
  images: number
  studies: number
  boxes: number
}

export interface ExportSummary {
  outDir: string
  /** Label files written, relative to outDir (PNGs are counted in `images`). */
  files: string[]
  images: number
  /** Per subset written (`test` only when asked for). */
  subsets: Record<'train' | 'val', SubsetSummary> & { test?: SubsetSummary }
  clippedBoxes: number
  /** How PNG samples relate to the DICOM values (null without images): also in the COCO info. */
  pixels: string | null
  /** Images written with png16 values clamped at the window's ends: `warnings` lists each. */
  clampedImages: number
  /** Images left out (no file, undecodable, no study class) and boxes dropped, with reasons. */
  errors: FileError[]
  /** Images written, but not exactly: each with the reason and counts. */
  warnings: FileError[]
  /** The recipes' commands (train on one and many GPUs, export ONNX, bring the model back), when written. */
  recipes?: RecipeCommand[]
}

/** What an export wrote, in the lines the CLI prints and the Export view shows. */
export function exportSummaryLines(summary: ExportSummary): string[] {
  const lines = [
    `Exported to ${summary.outDir}: ${summary.files.join(', ')}${summary.images ? ` and ${summary.images} image(s)` : ''}`
  ]
  for (const subset of ['train', 'val', 'test'] as const) {
    const s = summary.subsets[subset]
    if (!s) continue
    lines.push(
      `  ${subset.padEnd(6)}${String(s.images).padStart(7)} images ${String(s.studies).padStart(7)} studies ${String(s.boxes).padStart(7)} boxes`
    )
  }
  if (summary.clippedBoxes)
    lines.push(`  ${summary.clippedBoxes} box(es) reached outside their image and were cut at the border`)
  if (summary.pixels) lines.push(`  pixels: ${summary.pixels}`)
  if (summary.recipes?.length) {
    lines.push('  to train on GPUs elsewhere (README.md says more):')
    for (const recipe of summary.recipes) lines.push(`    ${recipe.label}:`, `      ${recipe.command}`)
  }
  return lines
}

/** The `pixels` text of an export: what a PNG sample means. */
export function pixelsDescription(plan: ExportPlan): string | null {
  const format = plan.options.images?.format
  return format === 'png16' ? PNG16_PIXELS : format === 'png8' ? PNG8_PIXELS : null
}

export type LabelWriter = (plan: ExportPlan, items: PlannedImage[], outDir: string) => Promise<string[]>

export async function runExport(
  dataset: Dataset,
  options: ExportOptions,
  writeLabels: LabelWriter
): Promise<ExportSummary> {
  const outDir = resolve(options.outDir)
  await assertOutputAllowed(outDir, [datasetSource(dataset.root)], 'folder')
  // an export killed in this folder left temps beside its files: images/<subset>/ is two levels down
  await removeStaleTemps(outDir, { depth: 2 })
  const plan = planExport(dataset, options)
  if (plan.items.length === 0)
    throw new UserError(`${dataset.root}: no labelled train images to export (policy ${plan.options.policy})`)
  const errors = [...plan.errors]
  const warnings: FileError[] = []

  let items = plan.items
  let images = 0
  let incomplete: WrittenImages | null = null
  if (plan.options.images) {
    const { decoder, close } = await openDecoder(options.decoder)
    try {
      const result = await writeExportImages(items, {
        datasetRoot: dataset.root,
        outDir,
        format: plan.options.images.format,
        decoder,
        writeFile: options.writeFile,
        concurrency: options.concurrency,
        onProgress: options.onProgress,
        signal: options.signal
      })
      items = items.filter((item) => result.written.has(item))
      images = result.written.size
      errors.push(...result.errors)
      warnings.push(...result.warnings)
      if (result.failed.length) incomplete = result
    } finally {
      await close()
    }
  }
  options.signal?.throwIfAborted()
  if (incomplete) await failIncomplete(incomplete, () => writeLabels(plan, items, outDir), outDir)
  const files = await writeLabels(plan, items, outDir)

  const subsets = {} as ExportSummary['subsets']
  for (const subset of plan.options.test
    ? (['train', 'val', 'test'] as const)
    : (['train', 'val'] as const)) {
    const inSubset = items.filter((item) => item.subset === subset)
    subsets[subset] = {
      images: inSubset.length,
      studies: new Set(inSubset.map((item) => item.image.studyId)).size,
      boxes: inSubset.reduce((sum, item) => sum + item.boxes.length, 0)
    }
  }
  return {
    outDir,
    files,
    images,
    subsets,
    clippedBoxes: plan.clippedBoxes,
    pixels: pixelsDescription(plan),
    clampedImages: warnings.length,
    errors,
    warnings
  }
}

/** PNG write failures listed in the error; the rest are counted. */
const LISTED_FAILURES = 3

/**
 * Ends an export some of whose images could not be written (a full disk, a read-only folder): the
 * label files still describe the images that were written, so the folder is consistent, but the
 * export fails, saying how many images are missing and why.
 */
async function failIncomplete(
  result: WrittenImages,
  writeLabels: () => Promise<string[]>,
  outDir: string
): Promise<never> {
  const planned = result.written.size + result.errors.length + result.failed.length + result.notTried
  const missing = result.failed.length + result.notTried
  const reasons = result.failed
    .slice(0, LISTED_FAILURES)
    .map((f) => (f.reason.startsWith(f.path) ? f.reason : `${f.path}: ${f.reason}`))
  if (result.failed.length > LISTED_FAILURES)
    reasons.push(`and ${result.failed.length - LISTED_FAILURES} more`)
  const stopped = result.notTried
    ? `; ${result.notTried} not tried after the disk ${result.stoppedBy === 'EROFS' ? 'turned out read-only' : 'filled'}`
    : ''
  let labels: string
  try {
    await writeLabels()
    labels = result.written.size
      ? `the label files list the ${result.written.size} written`
      : 'the label files list none'
  } catch (err) {
    labels = `the label files could not be written either: ${errorMessage(err)}`
  }
  throw new UserError(
    `${outDir}: export incomplete: ${missing} of ${planned} image(s) not written ` +
      `(${result.failed.length} failed: ${reasons.join('; ')}${stopped}); ${labels}`
  )
}

/** Exports read each file once, so the pool's cache only needs to hold the images in flight. */
const EXPORT_CACHE_BYTES = 64 * 1024 * 1024

async function openDecoder(
  given: PixelDecoder | undefined
): Promise<{ decoder: PixelDecoder; close(): Promise<void> }> {
  if (given) return { decoder: given, close: async () => {} }
  const { DecodePool } = await import('../dicom/pool')
  const pool = new DecodePool({ cacheBytes: EXPORT_CACHE_BYTES })
  return { decoder: pool, close: () => pool.close() }
}
