// A streaming reader of `multipart/related` bodies (RFC 2046 §5.1), as WADO-RS sends instances:
// each part's bytes go to its sink as they arrive, so a study is never held in memory — at most one
// network chunk plus a delimiter's length. Written here rather than taken from npm: the well-kept
// parsers there are for multipart/form-data (busboy, formidable) or buffer whole parts.
import { UserError } from '../errors'

/** What the reader does with one part: `write` may return a promise (back-pressure: reading waits). */
export interface PartSink {
  write(chunk: Uint8Array): void | Promise<void>
  end(): void | Promise<void>
}

export type PartHeaders = Record<string, string>

export interface MultipartHandler {
  /** A part begins; return where its body goes. */
  part(headers: PartHeaders, index: number): PartSink | Promise<PartSink>
}

const HEADER_END = Buffer.from('\r\n\r\n')
/** A part's header block larger than this is not a WADO-RS response. */
const MAX_HEADER_BYTES = 16 * 1024

/** `multipart/related; type="application/dicom"; boundary="abc"` → its type, parameters (lower-case keys). */
export function parseContentType(value: string): { type: string; params: Record<string, string> } {
  const [type, ...rest] = splitParams(value)
  const params: Record<string, string> = {}
  for (const param of rest) {
    const eq = param.indexOf('=')
    if (eq < 0) continue
    const key = param.slice(0, eq).trim().toLowerCase()
    let val = param.slice(eq + 1).trim()
    if (val.startsWith('"') && val.endsWith('"') && val.length >= 2)
      val = val.slice(1, -1).replace(/\\(.)/g, '$1')
    params[key] = val
  }
  return { type: type.trim().toLowerCase(), params }
}

/** Splits on `;` outside quotes. */
function splitParams(value: string): string[] {
  const out: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const c = value[i]
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted
    if (c === ';' && !quoted) {
      out.push(current)
      current = ''
    } else current += c
  }
  out.push(current)
  return out
}

type State = 'preamble' | 'delimiter' | 'headers' | 'body' | 'epilogue'

/**
 * Feeds the body in chunks of any size; `finish()` checks the closing delimiter was seen. Throws a
 * UserError naming `source` for a malformed body (no first boundary, oversized or broken headers,
 * a body that ends inside a part).
 */
export class MultipartReader {
  private readonly delimiter: Buffer
  private state: State = 'preamble'
  private pending: Buffer
  private sink: PartSink | null = null
  private index = 0

  constructor(
    boundary: string,
    private readonly handler: MultipartHandler,
    private readonly source: string
  ) {
    if (!boundary || boundary.length > 200)
      throw new UserError(`${source}: the multipart boundary is missing or too long`)
    this.delimiter = Buffer.from(`\r\n--${boundary}`)
    // the body usually starts with the first delimiter itself, without the CRLF before it
    this.pending = Buffer.from('\r\n')
  }

  /** Parts started so far. */
  get parts(): number {
    return this.index
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk)
    while (await this.step()) {
      // each step consumed something; go on until one needs more bytes
    }
  }

  async finish(): Promise<void> {
    if (this.state === 'epilogue') return
    if (this.state === 'preamble')
      throw new UserError(`${this.source}: the response has no multipart part (no boundary found)`)
    throw new UserError(
      `${this.source}: the response ended in the middle of part ${Math.max(1, this.index)} (the server or the connection stopped)`
    )
  }

  /** One move of the state machine; false when it needs more bytes. */
  private async step(): Promise<boolean> {
    const { delimiter } = this
    switch (this.state) {
      case 'preamble': {
        const at = this.pending.indexOf(delimiter)
        if (at < 0) {
          this.keepTail(delimiter.length - 1)
          return false
        }
        this.pending = this.pending.subarray(at + delimiter.length)
        this.state = 'delimiter'
        return true
      }
      case 'delimiter':
        return this.afterDelimiter()
      case 'headers': {
        if (this.pending.length >= 2 && this.pending[0] === 0x0d && this.pending[1] === 0x0a) {
          this.pending = this.pending.subarray(2)
          await this.startPart({})
          return true
        }
        const end = this.pending.indexOf(HEADER_END)
        if (end < 0) {
          if (this.pending.length > MAX_HEADER_BYTES)
            throw new UserError(`${this.source}: part ${this.index + 1} has no end to its headers`)
          return false
        }
        const headers = parseHeaders(this.pending.subarray(0, end).toString('latin1'))
        this.pending = this.pending.subarray(end + HEADER_END.length)
        await this.startPart(headers)
        return true
      }
      case 'body': {
        const at = this.pending.indexOf(delimiter)
        if (at < 0) {
          // all but what could be the start of a delimiter goes to the part now
          const safe = this.pending.length - (delimiter.length - 1)
          if (safe > 0) {
            const out = this.pending.subarray(0, safe)
            this.pending = this.pending.subarray(safe)
            await this.sink!.write(out)
          }
          return false
        }
        if (at > 0) await this.sink!.write(this.pending.subarray(0, at))
        const sink = this.sink!
        this.sink = null
        this.pending = this.pending.subarray(at + delimiter.length)
        this.state = 'delimiter'
        await sink.end()
        return true
      }
      case 'epilogue':
        this.pending = Buffer.alloc(0)
        return false
    }
  }

  /** After `--boundary`: `--` closes the body; optional spaces then CRLF start a part's headers. */
  private afterDelimiter(): boolean {
    const rest = this.pending
    if (rest.length < 2) return false
    if (rest[0] === 0x2d && rest[1] === 0x2d) {
      this.state = 'epilogue'
      this.pending = Buffer.alloc(0)
      return false
    }
    let i = 0
    while (i < rest.length && (rest[i] === 0x20 || rest[i] === 0x09)) i++
    if (i > 256) throw new UserError(`${this.source}: malformed multipart delimiter after part ${this.index}`)
    if (rest.length - i < 2) return false
    if (rest[i] !== 0x0d || rest[i + 1] !== 0x0a)
      throw new UserError(`${this.source}: malformed multipart delimiter after part ${this.index}`)
    this.pending = rest.subarray(i + 2)
    this.state = 'headers'
    return true
  }

  private async startPart(headers: PartHeaders): Promise<void> {
    this.index++
    this.sink = await this.handler.part(headers, this.index)
    this.state = 'body'
  }

  private keepTail(bytes: number): void {
    if (this.pending.length > bytes) this.pending = this.pending.subarray(this.pending.length - bytes)
  }
}

function parseHeaders(block: string): PartHeaders {
  const headers: PartHeaders = {}
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return headers
}
