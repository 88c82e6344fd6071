// The streaming multipart/related reader: every chunking of a body gives the same parts, bytes that
// look like a delimiter inside a part stay in it, and a body cut short is an error, never a part.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { MultipartReader, parseContentType, type PartHeaders } from '../../main/core/dicomweb/multipart'

const BOUNDARY = 'b7f3-xyz'

function body(
  parts: Buffer[],
  options: { preamble?: string; epilogue?: string; padding?: string } = {}
): Buffer {
  const chunks: Buffer[] = []
  if (options.preamble) chunks.push(Buffer.from(`${options.preamble}\r\n`))
  for (const part of parts) {
    chunks.push(
      Buffer.from(
        `--${BOUNDARY}${options.padding ?? ''}\r\nContent-Type: application/dicom\r\nContent-Length: ${part.length}\r\n\r\n`
      )
    )
    chunks.push(part, Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--${options.epilogue ?? ''}`))
  return Buffer.concat(chunks)
}

async function read(
  data: Buffer,
  chunkSizes: (offset: number) => number
): Promise<{ parts: Buffer[]; headers: PartHeaders[]; ended: number }> {
  const parts: Buffer[] = []
  const headers: PartHeaders[] = []
  let ended = 0
  const reader = new MultipartReader(
    BOUNDARY,
    {
      part(h) {
        headers.push(h)
        const chunks: Buffer[] = []
        return {
          write: async (chunk) => {
            chunks.push(Buffer.from(chunk))
          },
          end: () => {
            ended++
            parts.push(Buffer.concat(chunks))
          }
        }
      }
    },
    'http://pacs.test/studies/1'
  )
  for (let offset = 0; offset < data.length;) {
    const size = Math.max(1, chunkSizes(offset))
    await reader.write(data.subarray(offset, offset + size))
    offset += size
  }
  await reader.finish()
  return { parts, headers, ended }
}

describe('MultipartReader', () => {
  // parts whose bytes hold near-delimiters: CRLF--, the boundary without its CRLF, a truncated one
  const tricky = [
    Buffer.concat([
      Buffer.from(`\r\n--${BOUNDARY.slice(0, -1)}X`),
      randomBytes(300),
      Buffer.from(`--${BOUNDARY}`)
    ]),
    Buffer.alloc(0),
    Buffer.concat([randomBytes(1000), Buffer.from('\r\n-'), randomBytes(10), Buffer.from('\r\n\r\n')])
  ]
  const data = body(tricky, { preamble: 'This is a preamble', epilogue: '\r\nepilogue text' })

  it('gives the same parts for every split of the body into two chunks', async () => {
    for (let cut = 1; cut < data.length; cut++) {
      const { parts, ended } = await read(data, (offset) => (offset === 0 ? cut : data.length))
      expect(ended, `cut at ${cut}`).toBe(3)
      expect(
        parts.map((p) => p.toString('hex')),
        `cut at ${cut}`
      ).toEqual(tricky.map((p) => p.toString('hex')))
    }
  })

  it('reads one byte at a time, and in random chunk sizes', async () => {
    expect((await read(data, () => 1)).parts).toEqual(tricky)
    let seed = 5
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 97) + 1
    expect((await read(data, random)).parts).toEqual(tricky)
  })

  it('passes the part headers, lower-cased, and accepts transport padding after the boundary', async () => {
    const padded = body([Buffer.from('abc')], { padding: '  \t' })
    const { parts, headers } = await read(padded, () => 4)
    expect(parts).toEqual([Buffer.from('abc')])
    expect(headers[0]).toEqual({ 'content-type': 'application/dicom', 'content-length': '3' })
  })

  it('streams a large part through without holding it: each write is at most a chunk', async () => {
    const big = randomBytes(4 * 1024 * 1024)
    const payload = body([big])
    let largestWrite = 0
    let total = 0
    const reader = new MultipartReader(
      BOUNDARY,
      {
        part: () => ({
          write: (chunk) => {
            largestWrite = Math.max(largestWrite, chunk.length)
            total += chunk.length
          },
          end: () => undefined
        })
      },
      'src'
    )
    for (let offset = 0; offset < payload.length; offset += 65536)
      await reader.write(payload.subarray(offset, offset + 65536))
    await reader.finish()
    expect(total).toBe(big.length)
    expect(largestWrite).toBeLessThanOrEqual(65536 + BOUNDARY.length + 4)
  })

  it('a body cut inside a part is an error naming the source, and that part never ends', async () => {
    const cut = data.subarray(0, data.length - 200)
    const error = await read(cut, () => 64).catch((err: Error) => err)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toBe(
      'http://pacs.test/studies/1: the response ended in the middle of part 3 (the server or the connection stopped)'
    )
  })

  it('a body without the closing delimiter is an error even when the part looks whole', async () => {
    const open = data.subarray(0, data.indexOf(`--${BOUNDARY}--`))
    await expect(read(open, () => 100)).rejects.toThrow(/ended in the middle of part/)
  })

  it('a body with no boundary at all says so', async () => {
    await expect(read(Buffer.from('<html>login</html>'), () => 5)).rejects.toThrow(
      /no multipart part \(no boundary found\)/
    )
  })

  it('a malformed delimiter line is an error', async () => {
    const bad = Buffer.from(`--${BOUNDARY}\r\n\r\nabc\r\n--${BOUNDARY}XX\r\n`)
    await expect(read(bad, () => 100)).rejects.toThrow(/malformed multipart delimiter/)
  })
})

describe('parseContentType', () => {
  it('reads a quoted or bare boundary and the type parameter', () => {
    expect(parseContentType('multipart/related; type="application/dicom"; boundary="a;b=c"')).toEqual({
      type: 'multipart/related',
      params: { type: 'application/dicom', boundary: 'a;b=c' }
    })
    expect(parseContentType('Multipart/Related;boundary=abc-123;type=application/dicom')).toEqual({
      type: 'multipart/related',
      params: { boundary: 'abc-123', type: 'application/dicom' }
    })
  })
})
