// Reads the .npy reference arrays written by make-fixtures.py (and by `cxr-studio decode --npy`).
import { readFileSync } from 'node:fs'

export interface NpyData {
  dtype: string
  shape: number[]
  values: Float64Array
}

export function parseNpy(bytes: Uint8Array): NpyData {
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY')
    throw new Error('not an .npy file')
  const major = bytes[6]
  const headerLength =
    major === 1
      ? bytes[8] | (bytes[9] << 8)
      : bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (bytes[11] << 24)
  const start = major === 1 ? 10 : 12
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength))
  const dtype = /'descr':\s*'([^']+)'/.exec(header)![1]
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)![1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number)
  const body = bytes.slice(start + headerLength)
  const typed = {
    '|u1': () => new Uint8Array(body.buffer),
    '|i1': () => new Int8Array(body.buffer),
    '<u2': () => new Uint16Array(body.buffer),
    '<i2': () => new Int16Array(body.buffer),
    '<i4': () => new Int32Array(body.buffer),
    '<f4': () => new Float32Array(body.buffer),
    '<f8': () => new Float64Array(body.buffer)
  }[dtype]
  if (!typed) throw new Error(`unsupported npy dtype ${dtype}`)
  return { dtype, shape, values: Float64Array.from(typed()) }
}

export function readNpy(path: string): NpyData {
  return parseNpy(new Uint8Array(readFileSync(path)))
}
