// The viewer's tag panel: every element of a file up to the pixel data, with names and readable values.
import type dicomParser from 'dicom-parser'
import type { DicomTag } from '../../../common/contract'
import { readHeaderDataSet } from '../../core/dicom/header'
import { formatTag, lookupTag } from './dicom-dictionary'

const MAX_VALUE_CHARS = 200
const NUMBER_VRS: Record<string, [keyof dicomParser.DataSet, number]> = {
  US: ['uint16', 2],
  SS: ['int16', 2],
  UL: ['uint32', 4],
  SL: ['int32', 4],
  FL: ['float', 4],
  FD: ['double', 8]
}
const BINARY_VRS = new Set(['OB', 'OW', 'OF', 'OD', 'OL', 'UN'])

/**
 * Reads the header the way the indexer does (a prefix of the file; a deflated data set inflated only
 * as far as its pixel data, under the same cap), so the panel never costs more than the index did.
 */
export async function readDicomTags(absPath: string, displayPath: string): Promise<DicomTag[]> {
  const { dataSet } = await readHeaderDataSet(absPath, displayPath)
  const tags: DicomTag[] = []
  listElements(dataSet, 0, tags)
  return tags
}

function listElements(dataSet: dicomParser.DataSet, depth: number, out: DicomTag[]): void {
  for (const key of Object.keys(dataSet.elements).sort()) {
    const element = dataSet.elements[key]
    const entry = lookupTag(key)
    const vr = element.vr ?? entry?.vr ?? 'UN'
    const name = entry?.name ?? (isPrivate(key) ? 'Private tag' : 'Unknown tag')
    if (element.items) {
      out.push({ tag: formatTag(key), name, vr: 'SQ', value: `${element.items.length} item(s)`, depth })
      for (const item of element.items) if (item.dataSet) listElements(item.dataSet, depth + 1, out)
      continue
    }
    out.push({ tag: formatTag(key), name, vr, value: valueOf(dataSet, key, vr, element), depth })
  }
}

function valueOf(
  dataSet: dicomParser.DataSet,
  key: string,
  vr: string,
  element: dicomParser.Element
): string {
  if (key === 'x7fe00010')
    return element.encapsulatedPixelData
      ? `encapsulated, ${element.fragments?.length ?? 0} fragment(s)`
      : `${element.length} bytes`
  const numeric = NUMBER_VRS[vr]
  if (numeric) {
    const [method, size] = numeric
    const count = Math.min(Math.floor(element.length / size), 16)
    const read = dataSet[method] as (tag: string, index?: number) => number | undefined
    const values = Array.from({ length: count }, (_, i) => read.call(dataSet, key, i))
    return values.join('\\') + (element.length / size > count ? '\\…' : '')
  }
  if (BINARY_VRS.has(vr)) return `${element.length} bytes`
  if (vr === 'AT') return dataSet.attributeTag(key) ?? ''
  const text = (vr === 'LT' || vr === 'ST' || vr === 'UT' ? dataSet.text(key) : dataSet.string(key)) ?? ''
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text
}

function isPrivate(key: string): boolean {
  return parseInt(key.slice(1, 5), 16) % 2 === 1
}
