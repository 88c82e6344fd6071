// The DICOM JSON model (PS3.18 F.2) as QIDO-RS answers it: `[{"0020000D": {"vr": "UI", "Value":
// ["1.2.3"]}, …}]`. Only the attributes a study or series row needs are read.
import type { PacsSeries, PacsStudy } from '../../../common/contract'
import { UserError } from '../errors'

export type DicomJsonDataset = Record<string, { vr?: string; Value?: unknown[] } | undefined>

export const TAGS = {
  studyUid: '0020000D',
  seriesUid: '0020000E',
  sopUid: '00080018',
  patientName: '00100010',
  patientId: '00100020',
  studyDate: '00080020',
  accession: '00080050',
  modalitiesInStudy: '00080061',
  modality: '00080060',
  seriesCount: '00201206',
  instanceCount: '00201208',
  seriesInstances: '00201209',
  studyDescription: '00081030',
  seriesDescription: '0008103E',
  seriesNumber: '00200011'
} as const

function values(dataset: DicomJsonDataset, tag: string): unknown[] {
  const element = dataset[tag] ?? dataset[tag.toLowerCase()]
  return Array.isArray(element?.Value) ? element.Value : []
}

/** A text value; a PN is `{Alphabetic: "Doe^John"}` (the alphabetic form is shown). */
export function stringValue(dataset: DicomJsonDataset, tag: string): string {
  const first = values(dataset, tag)[0]
  if (first === undefined || first === null) return ''
  if (typeof first === 'object') {
    const name = first as { Alphabetic?: unknown }
    return typeof name.Alphabetic === 'string' ? name.Alphabetic : ''
  }
  return String(first)
}

export function stringValues(dataset: DicomJsonDataset, tag: string): string[] {
  return values(dataset, tag)
    .filter((v) => v !== null && v !== undefined)
    .map(String)
}

/** An IS/US value (Orthanc sends numbers; some servers send strings). */
export function intValue(dataset: DicomJsonDataset, tag: string): number | null {
  const first = values(dataset, tag)[0]
  const n = typeof first === 'number' ? first : typeof first === 'string' ? Number(first.trim()) : NaN
  return Number.isInteger(n) && n >= 0 ? n : null
}

export type StudyRow = Omit<PacsStudy, 'cached'>

/** One study row; null when the row has no Study Instance UID (nothing could retrieve it). */
export function studyRow(dataset: DicomJsonDataset): StudyRow | null {
  const studyUid = stringValue(dataset, TAGS.studyUid)
  if (!studyUid) return null
  return {
    studyUid,
    patientName: stringValue(dataset, TAGS.patientName),
    patientId: stringValue(dataset, TAGS.patientId),
    studyDate: stringValue(dataset, TAGS.studyDate),
    accession: stringValue(dataset, TAGS.accession),
    modalities: stringValues(dataset, TAGS.modalitiesInStudy),
    description: stringValue(dataset, TAGS.studyDescription),
    series: intValue(dataset, TAGS.seriesCount),
    instances: intValue(dataset, TAGS.instanceCount)
  }
}

export function seriesRow(dataset: DicomJsonDataset): PacsSeries | null {
  const seriesUid = stringValue(dataset, TAGS.seriesUid)
  if (!seriesUid) return null
  const number = intValue(dataset, TAGS.seriesNumber)
  return {
    seriesUid,
    modality: stringValue(dataset, TAGS.modality),
    number,
    description: stringValue(dataset, TAGS.seriesDescription),
    instances: intValue(dataset, TAGS.seriesInstances)
  }
}

/** The parsed body of a QIDO-RS answer: an array of datasets (an empty body means none matched). */
export function parseDatasets(text: string, source: string): DicomJsonDataset[] {
  if (!text.trim()) return []
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new UserError(
      `${source}: the answer is not DICOM JSON (${text.slice(0, 80).replace(/\s+/g, ' ')}…)`
    )
  }
  if (!Array.isArray(parsed)) throw new UserError(`${source}: the answer is not a DICOM JSON array`)
  return parsed.filter((item): item is DicomJsonDataset => typeof item === 'object' && item !== null)
}
