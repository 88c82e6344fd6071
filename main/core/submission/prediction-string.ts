// The competition's PredictionString: groups of `class confidence x1 y1 x2 y2`, separated by spaces.
import { STUDY_CLASSES, type ScoredClass, type StudyClass } from '../../../common/domain'
import { UserError } from '../errors'

/** Study rows (`<study>_study`) carry the four study classes; image rows (`<image>_image`) opacity/none. */
export type RowKind = 'study' | 'image'

export const IMAGE_CLASSES = ['opacity', 'none'] as const
export type ImageClass = (typeof IMAGE_CLASSES)[number]

/** One prediction (or ground-truth object): a class, a confidence and a box in corner form. */
export interface Detection {
  cls: ScoredClass
  confidence: number
  x1: number
  y1: number
  x2: number
  y2: number
}

/** An opacity box in corner form with its confidence, as a detector produces it. */
export interface ScoredBox {
  confidence: number
  x1: number
  y1: number
  x2: number
  y2: number
}

/** A problem in one PredictionString; `token` is 1-based (the first class name is token 1). */
export interface PredictionProblem {
  token: number
  message: string
}

export interface ParsedPredictions {
  detections: Detection[]
  /** A grammar error stops the parse and empties `detections`; box errors keep the detection. */
  errors: PredictionProblem[]
  /** Allowed but suspicious, e.g. a confidence outside [0, 1]. */
  warnings: PredictionProblem[]
}

const CLASSES_OF: Record<RowKind, readonly string[]> = { study: STUDY_CLASSES, image: IMAGE_CLASSES }
// Plain decimals with an optional exponent; rejects nan, inf, hex and empty strings that Number() accepts.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const FIELD = ['class', 'confidence', 'x1', 'y1', 'x2', 'y2'] as const

/** `abc123_study` -> 'study', `abc123_image` -> 'image', anything else -> null. */
export function rowKindOf(id: string): RowKind | null {
  if (id.endsWith('_study')) return 'study'
  if (id.endsWith('_image')) return 'image'
  return null
}

/**
 * Parses a PredictionString strictly. Empty (or blank) means no predictions. Study rows accept only
 * study classes with the whole-image box `0 0 1 1`; image rows accept `opacity` boxes with x1<x2 and
 * y1<y2 and `none` with `0 0 1 1`.
 */
export function parsePredictionString(text: string, kind: RowKind): ParsedPredictions {
  const tokens = text.trim() === '' ? [] : text.trim().split(/\s+/)
  const result: ParsedPredictions = { detections: [], errors: [], warnings: [] }
  const classes = CLASSES_OF[kind]
  const fail = (index: number, expected: string): ParsedPredictions => {
    const found = index < tokens.length ? `'${tokens[index]}'` : 'the end of the string'
    return {
      detections: [],
      errors: [{ token: index + 1, message: `expected ${expected}, found ${found}` }],
      warnings: result.warnings
    }
  }

  for (let start = 0; start < tokens.length; start += 6) {
    const name = tokens[start]
    if (!classes.includes(name)) {
      const hint = classes.includes(name.toLowerCase()) ? ' (class names are lower case)' : ''
      return fail(start, `a ${kind} class (${classes.join(', ')})${hint}`)
    }
    const values: number[] = []
    for (let field = 1; field < 6; field++) {
      const token = tokens[start + field]
      if (token === undefined || !NUMBER.test(token))
        return fail(start + field, `a number for ${FIELD[field]} of '${name}'`)
      const value = Number(token)
      if (!Number.isFinite(value))
        return fail(start + field, `a finite number for ${FIELD[field]} of '${name}'`)
      values.push(value)
    }
    const [confidence, x1, y1, x2, y2] = values
    const detection: Detection = { cls: name as ScoredClass, confidence, x1, y1, x2, y2 }
    const at = start + 1
    if (confidence < 0 || confidence > 1)
      result.warnings.push({
        token: at + 1,
        message: `confidence ${tokens[start + 1]} of '${name}' is outside [0, 1]`
      })
    if (name === 'opacity') {
      if (!(x1 < x2) || !(y1 < y2))
        result.errors.push({
          token: at + 2,
          message: `box of 'opacity' needs x1 < x2 and y1 < y2, got ${x1} ${y1} ${x2} ${y2}`
        })
    } else if (x1 !== 0 || y1 !== 0 || x2 !== 1 || y2 !== 1) {
      result.errors.push({
        token: at + 2,
        message: `box of '${name}' must be the whole-image box 0 0 1 1, got ${x1} ${y1} ${x2} ${y2}`
      })
    }
    result.detections.push(detection)
  }
  return result
}

/** The PredictionString of the label column or a trusted file: any error is thrown as a UserError. */
export function parsePredictionStringStrict(text: string, kind: RowKind): Detection[] {
  const parsed = parsePredictionString(text, kind)
  if (parsed.errors.length > 0) {
    const first = parsed.errors[0]
    throw new UserError(`token ${first.token}: ${first.message}`)
  }
  return parsed.detections
}

/**
 * A number without exponent. With `maxDecimals` it is rounded (pixel coordinates); without, it keeps
 * every digit needed to read back the same double (confidences: rounding them would create ties).
 */
export function formatNumber(value: number, maxDecimals?: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`cannot format ${value} in a PredictionString`)
  if (maxDecimals !== undefined) value = Number(value.toFixed(maxDecimals))
  if (value === 0) return '0' // also turns -0 into 0
  const shortest = String(value)
  if (!/e/i.test(shortest)) return shortest
  return expandExponent(shortest)
}

/** `-1.25e-7` -> `-0.000000125`, `1e+21` -> `1000000000000000000000`: the same digits, moved. */
function expandExponent(text: string): string {
  const [, sign, intDigits, fracDigits = '', exponent] = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/i.exec(text)!
  const digits = intDigits + fracDigits
  const point = intDigits.length + Number(exponent)
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length)
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`
}

/** Box coordinates are pixels: 1/10000 px is far below any annotation's precision. */
const BOX_DECIMALS = 4

export function formatPredictionString(detections: readonly Detection[]): string {
  return detections
    .map((d) =>
      [
        d.cls,
        formatNumber(d.confidence),
        ...[d.x1, d.y1, d.x2, d.y2].map((v) => formatNumber(v, BOX_DECIMALS))
      ].join(' ')
    )
    .join(' ')
}

/** A study row with all four classes and their probabilities (AP rewards ranking, so never just the argmax). */
export function formatStudyPrediction(probabilities: Record<StudyClass, number>): string {
  return formatPredictionString(
    STUDY_CLASSES.map((cls) => ({ cls, confidence: probabilities[cls], x1: 0, y1: 0, x2: 1, y2: 1 }))
  )
}

/** An image row: the opacity boxes, then `none` with its confidence when given. */
export function formatImagePrediction(
  opacities: readonly ScoredBox[],
  noneConfidence: number | null
): string {
  const detections: Detection[] = opacities.map((box) => ({ cls: 'opacity', ...box }))
  if (noneConfidence !== null)
    detections.push({ cls: 'none', confidence: noneConfidence, x1: 0, y1: 0, x2: 1, y2: 1 })
  return formatPredictionString(detections)
}
