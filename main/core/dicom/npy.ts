// NumPy .npy (format 1.0, little-endian, C order) encoding, for `cxr-studio decode --npy`.

type NpyArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | Float32Array

function descr(array: NpyArray): string {
  if (array instanceof Uint8Array) return '|u1'
  if (array instanceof Int8Array) return '|i1'
  if (array instanceof Uint16Array) return '<u2'
  if (array instanceof Int16Array) return '<i2'
  if (array instanceof Int32Array) return '<i4'
  return '<f4'
}

export function encodeNpy(array: NpyArray, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1)
  if (count !== array.length)
    throw new RangeError(`npy: shape ${shape.join('x')} does not hold ${array.length} values`)
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
  let header = `{'descr': '${descr(array)}', 'fortran_order': False, 'shape': ${shapeText}, }`
  // magic(6) + version(2) + length(2) + header + '\n' must be a multiple of 64
  const pad = 64 - ((10 + header.length + 1) % 64)
  header += ' '.repeat(pad % 64) + '\n'
  const out = new Uint8Array(10 + header.length + array.byteLength)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8])
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i)
  // typed arrays are little-endian on every platform Node and Electron run on
  out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), 10 + header.length)
  return out
}
