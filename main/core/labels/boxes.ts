// The two box columns of train_image_level.csv: `boxes` (Python literal) and `label` (tokens).
import type { OpacityBox } from '../../../common/domain'
import { LiteralSyntaxError, parsePythonLiteral, type PyValue } from './python-literal'

/** The exact `label` of an image without boxes. */
export const NONE_LABEL = 'none 1 0 0 1 1'

/** Label corners may differ from `x + width` by rounding (Kaggle prints 5 decimals); a hundredth of a pixel is plenty. */
export const LABEL_TOLERANCE_PX = 0.01

const BOX_KEYS = ['x', 'y', 'width', 'height'] as const

/** Boxes may touch the border after rounding: half a pixel beyond it is still inside. */
export const OUTSIDE_TOLERANCE_PX = 0.5

/**
 * The edges of a columns x rows image that a corner-form box reaches beyond (by more than
 * OUTSIDE_TOLERANCE_PX), and by how much: the quality rule and the submission check both ask this.
 */
export function edgesBeyond(
  box: { x1: number; y1: number; x2: number; y2: number },
  size: { columns: number; rows: number }
): Array<{ edge: 'left' | 'top' | 'right' | 'bottom'; by: number }> {
  const beyond = [
    { edge: 'left' as const, by: -box.x1 },
    { edge: 'top' as const, by: -box.y1 },
    { edge: 'right' as const, by: box.x2 - size.columns },
    { edge: 'bottom' as const, by: box.y2 - size.rows }
  ]
  return beyond.filter(({ by }) => by > OUTSIDE_TOLERANCE_PX)
}

/** Parses the `boxes` column: empty, or a list of `{'x', 'y', 'width', 'height'}` dicts. Throws with a reason. */
export function parseBoxesField(text: string): OpacityBox[] {
  if (text.trim() === '') return []
  let literal: PyValue
  try {
    literal = parsePythonLiteral(text)
  } catch (err) {
    if (err instanceof LiteralSyntaxError) throw new Error(err.message)
    throw err
  }
  if (!Array.isArray(literal)) throw new Error('expected a list of boxes [{...}, ...]')
  return literal.map((item, i) => {
    const where = `box ${i + 1}`
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw new Error(`${where}: expected a dict`)
    for (const key of Object.keys(item)) {
      if (!(BOX_KEYS as readonly string[]).includes(key)) throw new Error(`${where}: unexpected key '${key}'`)
    }
    const box = {} as OpacityBox
    for (const key of BOX_KEYS) {
      const value = item[key]
      if (value === undefined) throw new Error(`${where}: missing key '${key}'`)
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new Error(`${where}: '${key}' is not a number`)
      box[key] = value
    }
    return box
  })
}

/** Formats boxes the way pandas writes them (`str()` of a list of dicts), or '' for none. */
export function formatBoxesField(boxes: readonly OpacityBox[]): string {
  if (boxes.length === 0) return ''
  const dicts = boxes.map((b) => `{${BOX_KEYS.map((key) => `'${key}': ${pythonFloat(b[key])}`).join(', ')}}`)
  return `[${dicts.join(', ')}]`
}

/** Box corners `[x1, y1, x2, y2]` read from a `label` string; `none` is true for `none 1 0 0 1 1`. */
export interface ParsedLabel {
  opacity: Array<[number, number, number, number]>
  none: boolean
}

/** Parses `opacity 1 x1 y1 x2 y2` repeated, or exactly `none 1 0 0 1 1`. Throws with a reason. */
export function parseLabelField(text: string): ParsedLabel {
  const tokens = text.trim().split(/\s+/).filter(Boolean)
  if (tokens.length === 0) throw new Error(`empty (expected '${NONE_LABEL}' or 'opacity 1 x1 y1 x2 y2 ...')`)
  if (tokens.length % 6 !== 0)
    throw new Error(`expected groups of 6 tokens ('opacity 1 x1 y1 x2 y2'), found ${tokens.length} tokens`)
  const parsed: ParsedLabel = { opacity: [], none: false }
  for (let i = 0; i < tokens.length; i += 6) {
    const group = tokens.slice(i, i + 6)
    const name = group[0]
    if (name === 'none') {
      if (group.join(' ') !== NONE_LABEL)
        throw new Error(`expected '${NONE_LABEL}', found '${group.join(' ')}'`)
      parsed.none = true
      continue
    }
    if (name !== 'opacity') throw new Error(`unknown class '${name}' (expected 'opacity' or 'none')`)
    const numbers = group.slice(1).map(Number)
    const bad = group.slice(1).find((token, k) => token.trim() === '' || !Number.isFinite(numbers[k]))
    if (bad !== undefined) throw new Error(`'${bad}' is not a number in '${group.join(' ')}'`)
    parsed.opacity.push([numbers[1], numbers[2], numbers[3], numbers[4]])
  }
  if (parsed.none && parsed.opacity.length > 0) throw new Error(`'none' mixed with opacity boxes`)
  return parsed
}

/** The `label` column for these boxes, with corners rounded to 5 decimals as in the Kaggle files. */
export function formatLabelField(boxes: readonly OpacityBox[]): string {
  if (boxes.length === 0) return NONE_LABEL
  const r = (v: number) => String(Math.round(v * 1e5) / 1e5)
  return boxes.map((b) => `opacity 1 ${r(b.x)} ${r(b.y)} ${r(b.x + b.width)} ${r(b.y + b.height)}`).join(' ')
}

/** Why `label` disagrees with `boxes` (count, then corners in order), or null when they agree. */
export function labelBoxesMismatch(boxes: readonly OpacityBox[], label: ParsedLabel): string | null {
  if (boxes.length === 0)
    return label.none ? null : `boxes is empty but label has ${label.opacity.length} opacity box(es)`
  if (label.none) return `label is '${NONE_LABEL}' but boxes has ${boxes.length} box(es)`
  if (label.opacity.length !== boxes.length) {
    return `label has ${label.opacity.length} opacity box(es) but boxes has ${boxes.length}`
  }
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i]
    const expected = [b.x, b.y, b.x + b.width, b.y + b.height]
    const found = label.opacity[i]
    const off = expected.findIndex((v, k) => Math.abs(v - found[k]) > LABEL_TOLERANCE_PX)
    if (off >= 0) {
      const corner = ['x1', 'y1', 'x2', 'y2'][off]
      return `box ${i + 1}: label ${corner} = ${found[off]} but boxes gives ${roundForMessage(expected[off])}`
    }
  }
  return null
}

function pythonFloat(value: number): string {
  // Python prints floats with a decimal point (`1.0`); JS would print `1`.
  return Number.isInteger(value) ? value.toFixed(1) : String(value)
}

function roundForMessage(value: number): string {
  return String(Math.round(value * 1e5) / 1e5)
}
