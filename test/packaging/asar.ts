// Reads an app.asar the way Electron does, without a dependency: a Chromium pickle holding the JSON
// header (sizes at bytes 4 and 12, the JSON from byte 16), then the packed files' bytes.
import { readFileSync } from 'node:fs'

interface Entry {
  files?: Record<string, Entry>
  size?: number
  offset?: string
  unpacked?: boolean
}

export interface AsarFile {
  /** Stored in app.asar.unpacked/ beside the archive; the header only names it. */
  unpacked: boolean
  size: number
}

export interface Asar {
  /** Every file by its path inside the archive (`out/main/index.js`). */
  files: Map<string, AsarFile>
  /** The bytes of a packed (not unpacked) file. */
  read(path: string): Buffer
}

export function readAsar(archive: string): Asar {
  const bytes = readFileSync(archive)
  const headerPickleSize = bytes.readUInt32LE(4)
  const header = JSON.parse(bytes.subarray(16, 16 + bytes.readUInt32LE(12)).toString('utf8')) as Entry
  const dataStart = 8 + headerPickleSize
  const entries = new Map<string, Entry>()
  const walk = (entry: Entry, prefix: string) => {
    for (const [name, child] of Object.entries(entry.files ?? {})) {
      const path = prefix ? `${prefix}/${name}` : name
      if (child.files) walk(child, path)
      else entries.set(path, child)
    }
  }
  walk(header, '')
  return {
    files: new Map([...entries].map(([path, entry]) => [path, { unpacked: Boolean(entry.unpacked), size: entry.size ?? 0 }])),
    read(path) {
      const entry = entries.get(path)
      if (!entry) throw new Error(`${archive}: no ${path}`)
      if (entry.unpacked) throw new Error(`${archive}: ${path} is unpacked`)
      const start = dataStart + Number(entry.offset)
      return bytes.subarray(start, start + (entry.size ?? 0))
    }
  }
}
