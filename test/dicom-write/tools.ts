// Runs the independent DICOM tools (dcmtk, gdcm, pydicom) that the writer and the demo are checked against.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const PYTHON = '/usr/bin/python3'
const PYDICOM_READ = fileURLToPath(new URL('./pydicom_read.py', import.meta.url))

export interface ToolResult {
  status: number | null
  stdout: string
  stderr: string
}

export function runTool(command: string, args: string[], input?: string): ToolResult {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, input })
  if (result.error) throw result.error
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0
}

export function hasPydicom(): boolean {
  return spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }).status === 0
}

/** The reasons a test is skipped, or null when dcmtk, gdcm and pydicom are all installed. */
export function missingTools(): string | null {
  const missing = ['dcmdump', 'dcmconv', 'dcmdrle', 'dcmdjpls', 'dcmdjpeg', 'gdcmconv'].filter(
    (c) => !hasCommand(c)
  )
  if (!hasPydicom()) missing.push(`${PYTHON} with pydicom and numpy`)
  return missing.length
    ? `missing ${missing.join(', ')} (apt-get install dcmtk libgdcm-tools python3-pydicom python3-numpy)`
    : null
}

export interface PydicomImage {
  path: string
  error?: string
  transferSyntax: string
  mediaStorageSopClass: string
  implementationClassUid: string
  metaGroupLength: number
  sopClass: string
  sopInstanceUid: string
  studyInstanceUid: string
  seriesInstanceUid: string
  patientId: string
  modality: string
  rows: number
  columns: number
  bitsAllocated: number
  bitsStored: number
  highBit: number
  pixelRepresentation: number
  photometric: string
  windowCenter: number | null
  windowWidth: number | null
  rescaleSlope: number | null
  rescaleIntercept: number | null
  lossy: string
  /** Decoded stored values (no modality LUT), absent with `pixels: false`. */
  pixels?: Int32Array
}

/** Reads files with pydicom; many files per call because Python's start-up dominates. */
export function readWithPydicom(paths: string[], options: { pixels?: boolean } = {}): PydicomImage[] {
  const args = [PYDICOM_READ, ...(options.pixels === false ? ['--no-pixels'] : []), ...paths]
  const result = runTool(PYTHON, args)
  if (result.status !== 0) throw new Error(`pydicom_read.py failed: ${result.stderr}`)
  return result.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const image = JSON.parse(line) as PydicomImage & { pixels?: string | Int32Array }
      if (typeof image.pixels === 'string') {
        const bytes = Buffer.from(image.pixels, 'base64')
        image.pixels = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
      }
      return image as PydicomImage
    })
}

/** dcmdump output problems: anything on stderr (warnings, errors) or a non-zero exit. */
export function dcmdumpProblems(path: string): string | null {
  const result = runTool('dcmdump', [path])
  if (result.status !== 0 || result.stderr.trim() !== '')
    return `dcmdump exit ${result.status}: ${result.stderr.trim()}`
  return null
}
