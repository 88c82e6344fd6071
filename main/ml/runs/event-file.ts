// The run's TensorBoard event file: scalars kept in memory and rewritten atomically on flush, so a
// crash never leaves a torn record and a resumed run can drop what came after its checkpoint.
import { readFile, readdir } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, join } from 'node:path'
import { writeFileAtomic } from '../../core/fs-atomic'
import { decodeEvent, fileVersionRecord, frameRecord, readIntactRecords, scalarsRecord } from './tfevents'

export class EventFile {
  private readonly records: Uint8Array[]

  private constructor(
    readonly path: string,
    records: Uint8Array[]
  ) {
    this.records = records
  }

  /**
   * Opens the run's event file, or starts one. `keep` decides which existing records survive (a resumed
   * run drops events past its checkpoint); the file-version record always stays first. A file cut
   * short (or damaged) keeps the records before the damage; `onTornTail` hears what was dropped, and
   * the next flush writes the file whole again.
   */
  static async open(
    runDir: string,
    keep: (step: number, tags: string[]) => boolean = () => true,
    onTornTail?: (message: string) => void
  ): Promise<EventFile> {
    const existing = (await readdir(runDir).catch(() => [] as string[]))
      .filter((name) => name.startsWith('events.out.tfevents.'))
      .sort()
    if (existing.length === 0) {
      const now = Date.now() / 1000
      const name = `events.out.tfevents.${Math.floor(now)}.${hostname().replace(/[^\w.-]/g, '_')}.cxr-studio`
      return new EventFile(join(runDir, name), [fileVersionRecord(now)])
    }
    const path = join(runDir, existing[0])
    const kept: Uint8Array[] = []
    const { records, torn } = readIntactRecords(new Uint8Array(await readFile(path)))
    if (torn)
      onTornTail?.(
        `${basename(path)}: dropped a torn record at byte ${torn.at} (${torn.bytes} bytes: ${torn.reason}); ` +
          `the ${records.filter((r) => !decodeEvent(r).fileVersion).length} scalar record(s) before it are kept`
      )
    for (const payload of records) {
      const event = decodeEvent(payload)
      if (
        event.fileVersion ||
        keep(
          event.step,
          event.scalars.map((s) => s.tag)
        )
      )
        kept.push(frameRecord(payload))
    }
    return new EventFile(path, kept)
  }

  add(step: number, scalars: Record<string, number>, wallTime = Date.now() / 1000): void {
    this.records.push(scalarsRecord(step, scalars, wallTime))
  }

  async flush(): Promise<void> {
    const total = this.records.reduce((n, r) => n + r.length, 0)
    const bytes = new Uint8Array(total)
    let offset = 0
    for (const record of this.records) {
      bytes.set(record, offset)
      offset += record.length
    }
    await writeFileAtomic(this.path, bytes)
  }
}
