// Independent readers for the demo's files: a plain CSV parser and a strict reader of the exact
// Kaggle `boxes` / `label` formats (deliberately not the project's own label parser).
import { parse } from 'csv-parse/sync'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { OpacityBox } from '../../common/domain'

/** Every file under `root`, relative, with forward slashes, sorted. */
export function listFiles(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true })
    .flatMap((entry) => {
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name
      return entry.isDirectory() ? listFiles(root, relative) : [relative]
    })
    .sort()
}

/** Header and rows of a CSV file; every row must have the header's number of fields. */
export function readCsv(path: string): { header: string[]; rows: string[][] } {
  const records = parse(readFileSync(path, 'utf8'), { relax_column_count: false }) as string[][]
  return { header: records[0], rows: records.slice(1) }
}

const NUMBER = String.raw`\d+(?:\.\d+)?`
const BOX_DICT = new RegExp(
  String.raw`^\{'x': (${NUMBER}), 'y': (${NUMBER}), 'width': (${NUMBER}), 'height': (${NUMBER})\}$`
)

/** Reads `[{'x': 1.5, 'y': 2.0, 'width': ..., 'height': ...}, ...]` exactly as Kaggle writes it; throws otherwise. */
export function parseKaggleBoxes(text: string): OpacityBox[] {
  if (text === '') return []
  if (!text.startsWith('[') || !text.endsWith(']')) throw new Error(`boxes is not a list: ${text}`)
  const dicts = text.slice(1, -1).split(/(?<=\}), (?=\{)/)
  return dicts.map((dict) => {
    const match = BOX_DICT.exec(dict)
    if (!match) throw new Error(`box is not in the Kaggle format: ${dict}`)
    const [x, y, width, height] = match.slice(1).map(Number)
    return { x, y, width, height }
  })
}

/** Reads `opacity 1 x1 y1 x2 y2 ...` into corner quadruples; `none 1 0 0 1 1` gives []. */
export function parseKaggleLabel(text: string): number[][] {
  if (text === 'none 1 0 0 1 1') return []
  const parts = text.split(' ')
  if (parts.length % 6 !== 0) throw new Error(`label has ${parts.length} fields: ${text}`)
  const corners: number[][] = []
  for (let i = 0; i < parts.length; i += 6) {
    if (parts[i] !== 'opacity' || parts[i + 1] !== '1')
      throw new Error(`label entry is not 'opacity 1 ...': ${text}`)
    const values = parts.slice(i + 2, i + 6)
    if (!values.every((v) => new RegExp(`^${NUMBER}$`).test(v)))
      throw new Error(`label coordinates are not numbers: ${text}`)
    corners.push(values.map(Number))
  }
  return corners
}
