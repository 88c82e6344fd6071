// COCO import: ground-truth files (ours or a third party's) and results files (`[{image_id, category_id,
// bbox, score}]`), mapped back to Kaggle imageIds and boxes in original DICOM pixels.
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { z } from 'zod'
import type { OpacityBox } from '../../../common/domain'
import { errorMessage, FileReadError, UserError } from '../errors'
import type { Detection } from '../submission/prediction-string'
import type { SubmissionRow } from '../submission/submission-csv'

export interface ImportedBox extends OpacityBox {
  /** The COCO category name (opacity, or a study class for study-category files). */
  category: string
  /** The detector's score; null in ground-truth files. */
  score: number | null
}

export interface ImportedImage {
  imageId: string
  /** From our exports' `study_id`; null for files that do not carry it. */
  studyId: string | null
  /** Original DICOM size the boxes are expressed in. */
  width: number
  height: number
  boxes: ImportedBox[]
}

export interface CocoImport {
  kind: 'ground-truth' | 'results'
  images: ImportedImage[]
  /** Entries that were skipped or guessed (bad annotation, unknown image or category). */
  warnings: string[]
}

export interface ImportCocoOptions {
  /** For a results file: the COCO file whose `images` and `categories` its ids refer to (e.g. val.json). */
  imagesJson?: string
  /** Original sizes for files whose images were resized but that carry no `original_width/height`. */
  originalSizes?: ReadonlyMap<string, { width: number; height: number }>
}

const Id = z.union([z.number(), z.string()])
const Category = z.object({ id: Id, name: z.string().min(1) })
const Image = z.object({
  id: Id,
  file_name: z.string().min(1),
  width: z.number().positive(),
  height: z.number().positive(),
  original_width: z.number().positive().optional(),
  original_height: z.number().positive().optional(),
  study_id: z.string().optional()
})
const Annotation = z.object({
  image_id: Id,
  category_id: Id,
  bbox: z.tuple([z.number(), z.number(), z.number().nonnegative(), z.number().nonnegative()]),
  score: z.number().optional()
})
const GroundTruthFile = z.object({
  images: z.array(z.unknown()),
  annotations: z.array(z.unknown()).default([]),
  categories: z.array(Category)
})

export async function importCoco(jsonPath: string, options: ImportCocoOptions = {}): Promise<CocoImport> {
  const json = await readJson(jsonPath)
  if (!Array.isArray(json)) return fromGroundTruth(json, jsonPath, null, options.originalSizes)
  if (!options.imagesJson) {
    throw new UserError(
      `${jsonPath}: a COCO results file names images by number only; also give the COCO file it refers to (e.g. val.json)`
    )
  }
  return fromGroundTruth(
    await readJson(options.imagesJson),
    options.imagesJson,
    { annotations: json, file: jsonPath },
    options.originalSizes
  )
}

/**
 * Reads images and categories from a COCO ground-truth document, and annotations from it or from a
 * results list. `file_name`'s base name without extension is the imageId (`images/val/<id>.png`,
 * `train/<study>/<series>/<id>.dcm`); boxes are scaled by original_width/width, original_height/height.
 */
export function fromGroundTruth(
  json: unknown,
  file: string,
  results: { annotations: unknown[]; file: string } | null,
  originalSizes?: ReadonlyMap<string, { width: number; height: number }>
): CocoImport {
  const doc = GroundTruthFile.safeParse(json)
  if (!doc.success) throw new UserError(`${file}: not a COCO file (${describe(doc.error)})`)
  const warnings: string[] = []
  const categories = new Map(doc.data.categories.map((c) => [String(c.id), c.name]))

  const byCocoId = new Map<string, { image: ImportedImage; sx: number; sy: number }>()
  const images: ImportedImage[] = []
  doc.data.images.forEach((entry, index) => {
    const parsed = Image.safeParse(entry)
    if (!parsed.success) return warnings.push(`${file}: images[${index}] skipped (${describe(parsed.error)})`)
    const { id, file_name, width, height } = parsed.data
    const imageId = basename(file_name).replace(/\.[^.]*$/, '')
    const known = originalSizes?.get(imageId)
    const original = {
      width: parsed.data.original_width ?? known?.width ?? width,
      height: parsed.data.original_height ?? known?.height ?? height
    }
    if (byCocoId.has(String(id)))
      return warnings.push(`${file}: images[${index}] repeats image id ${id}; skipped`)
    const image: ImportedImage = {
      imageId,
      studyId: parsed.data.study_id ?? null,
      width: original.width,
      height: original.height,
      boxes: []
    }
    byCocoId.set(String(id), { image, sx: original.width / width, sy: original.height / height })
    images.push(image)
  })

  const source = results ?? { annotations: doc.data.annotations, file }
  source.annotations.forEach((entry, index) => {
    const where = `${source.file}: ${results ? '' : 'annotations'}[${index}]`
    const parsed = Annotation.safeParse(entry)
    if (!parsed.success) return warnings.push(`${where} skipped (${describe(parsed.error)})`)
    const { image_id, category_id, bbox, score } = parsed.data
    const target = byCocoId.get(String(image_id))
    if (!target) return warnings.push(`${where} skipped: image_id ${image_id} is not in ${file}`)
    const category = categories.get(String(category_id))
    if (!category) return warnings.push(`${where} skipped: category_id ${category_id} is not in ${file}`)
    if (results && score === undefined) warnings.push(`${where} has no score; using 1`)
    target.image.boxes.push({
      category,
      score: results ? (score ?? 1) : null,
      x: bbox[0] * target.sx,
      y: bbox[1] * target.sy,
      width: bbox[2] * target.sx,
      height: bbox[3] * target.sy
    })
  })
  return { kind: results ? 'results' : 'ground-truth', images, warnings }
}

/**
 * Image rows of a submission: every box (any category but `none`) is an opacity prediction with
 * its score (1 for ground truth). `none` gets 1 when an image has no box; for results it also gets
 * 1 - the highest box score, the usual way to rank "nothing here" against the boxes.
 */
export function importedToSubmissionRows(imported: CocoImport): SubmissionRow[] {
  return imported.images.map((image) => {
    const detections: Detection[] = image.boxes
      .filter((box) => box.category !== 'none')
      .map((box) => ({
        cls: 'opacity',
        confidence: box.score ?? 1,
        x1: box.x,
        y1: box.y,
        x2: box.x + box.width,
        y2: box.y + box.height
      }))
    const top = Math.max(0, ...detections.map((d) => d.confidence))
    const none =
      detections.length === 0 ? 1 : imported.kind === 'results' ? Math.min(1, Math.max(0, 1 - top)) : null
    if (none !== null) detections.push({ cls: 'none', confidence: none, x1: 0, y1: 0, x2: 1, y2: 1 })
    return { id: `${image.imageId}_image`, detections }
  })
}

async function readJson(path: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new FileReadError(path, code === 'ENOENT' ? 'no such file' : errorMessage(err))
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new FileReadError(path, `not valid JSON (${errorMessage(err)})`)
  }
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0]
  return `${issue.path.length ? issue.path.join('.') + ': ' : ''}${issue.message}`
}
