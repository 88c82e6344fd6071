// One binary message = [u32 LE header length][UTF-8 JSON header][zero padding][payload bytes].
// The payload starts at a multiple of 8 so the receiver can view it as Int16Array/Float32Array
// without copying a 2k×2k image.
export const BINARY_CONTENT_TYPE = 'application/x-cxr-frame'

/** Everything before the payload, so a server can write it and then the pixels without a copy. */
export function frameHeader(meta: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(meta))
  const header = new Uint8Array(align8(4 + json.byteLength))
  new DataView(header.buffer).setUint32(0, json.byteLength, true)
  header.set(json, 4)
  return header
}

export function encodeFrame(meta: unknown, data: Uint8Array): Uint8Array {
  const header = frameHeader(meta)
  const frame = new Uint8Array(header.byteLength + data.byteLength)
  frame.set(header)
  frame.set(data, header.byteLength)
  return frame
}

export function decodeFrame(buffer: ArrayBufferLike): { meta: unknown; data: Uint8Array } {
  if (buffer.byteLength < 4) throw new Error('binary frame is shorter than its header')
  const headerLength = new DataView(buffer).getUint32(0, true)
  const offset = align8(4 + headerLength)
  if (offset > buffer.byteLength) throw new Error('binary frame header is longer than the frame')
  const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength))) as unknown
  return { meta, data: new Uint8Array(buffer, offset) }
}

function align8(n: number): number {
  return (n + 7) & ~7
}
