// A full disk during an export: `coco --images png8` onto a 2 MB tmpfs used to exit 0 with "Exported
// 14 image(s)" while 26 failed with ENOSPC. An image that cannot be written fails the export (exit 1,
// the job fails), saying how many and why; the label files list only the images that were written.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobInfo } from '../../common/contract'
import { createBackend, type Backend } from '../../main/backend/index'
import { generateDemo } from '../../main/core/demo'
import { UserError } from '../../main/core/errors'
import { exportCoco, type CocoDocument } from '../../main/core/export/coco'
import { exportYolo } from '../../main/core/export/yolo'
import { writeFileAtomic } from '../../main/core/fs-atomic'
import { runCli } from '../cli'
import { caller, jobEnded } from '../backend/helpers'
import { boxPaintingDecoder, randomDataset } from './fixtures'

let work: string
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cxr-full-disk-'))
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** A disk that takes `capacity` bytes, then answers every write as a full disk does. */
function diskOf(capacity: number) {
  let used = 0
  return async (path: string, data: string | Uint8Array): Promise<void> => {
    used += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
    if (used > capacity) {
      const cause = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
      throw new UserError(`${path}: cannot write (ENOSPC)`, { cause })
    }
    await writeFileAtomic(path, data)
  }
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as CocoDocument

describe('an export whose images cannot all be written (simulated full disk)', () => {
  it('COCO: fails naming how many images were not written and why; the JSON lists only the written ones', async () => {
    const root = join(work, 'coco-sim', 'kaggle')
    mkdirSync(root, { recursive: true })
    const dataset = randomDataset(root, 20, 4)
    const out = join(work, 'coco-sim', 'out')
    // one 64-px png8 is a few hundred bytes: room for a handful
    const error = await exportCoco(dataset, {
      outDir: out,
      images: { format: 'png8', size: 64 },
      decoder: boxPaintingDecoder(dataset),
      writeFile: diskOf(3_000),
      concurrency: 1
    }).then(
      () => null,
      (err: unknown) => err as Error
    )
    expect(error).toBeInstanceOf(UserError)
    const written = [...readdirSync(join(out, 'images', 'train')), ...readdirSync(join(out, 'images', 'val'))]
    const planned = dataset.images.length
    expect(written.length).toBeGreaterThan(0)
    expect(written.length).toBeLessThan(planned)
    expect(error!.message).toMatch(
      new RegExp(
        `^${out}: export incomplete: ${planned - written.length} of ${planned} image\\(s\\) not written ` +
          `\\(1 failed: ${out}/images/(train|val)/\\w+\\.png: cannot write \\(ENOSPC\\); ` +
          `${planned - written.length - 1} not tried after the disk filled\\)`
      )
    )
    const listed = [...readJson(join(out, 'train.json')).images, ...readJson(join(out, 'val.json')).images]
    expect(listed.map((image) => image.file_name.split('/').pop()).sort()).toEqual(written.sort())
  })

  it('YOLO: a write error on one image (not a full disk) fails the export after trying the rest', async () => {
    const root = join(work, 'yolo-sim', 'kaggle')
    mkdirSync(root, { recursive: true })
    const dataset = randomDataset(root, 8, 9)
    const out = join(work, 'yolo-sim', 'out')
    const victim = dataset.images[2].imageId
    const error = await exportYolo(dataset, {
      outDir: out,
      images: { format: 'png8', size: 32 },
      decoder: boxPaintingDecoder(dataset),
      writeFile: async (path, data) => {
        if (path.endsWith(`/${victim}.png`)) throw new UserError(`${path}: cannot write (EIO)`)
        await writeFileAtomic(path, data)
      }
    }).then(
      () => null,
      (err: unknown) => err as Error
    )
    expect(error).toBeInstanceOf(UserError)
    expect(error!.message).toMatch(
      new RegExp(
        `^${out}: export incomplete: 1 of 8 image\\(s\\) not written \\(1 failed: ${out}/images/\\w+/${victim}\\.png: cannot write \\(EIO\\)\\)`
      )
    )
    const labels = readdirSync(join(out, 'labels'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.txt'))
    expect(labels).toHaveLength(7)
    expect(labels.some((f) => f.includes(victim))).toBe(false)
  })
})

/** A 2 MB tmpfs, as in the issue; null when this machine cannot mount one (not root, no CAP_SYS_ADMIN). */
function mountTinyDisk(dir: string): string | null {
  mkdirSync(dir, { recursive: true })
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' })
    return dir
  } catch {
    return null
  }
}

describe('an export onto a real 2 MB tmpfs', () => {
  let demo: string
  let disk: string | null
  let backend: Backend | null = null
  beforeAll(async () => {
    demo = join(work, 'demo')
    // about 40 images of up to 1 MB of PNG: well over the 2 MB disk
    await generateDemo(demo, { studies: 36, testStudies: 2, seed: 5 })
    disk = mountTinyDisk(join(work, 'tiny'))
    if (!disk) console.warn('full-disk tmpfs tests skipped: `mount -t tmpfs` needs root (CAP_SYS_ADMIN) here')
  }, 60_000)
  afterAll(async () => {
    await backend?.close()
    if (disk) execFileSync('umount', [disk])
  })

  it.for(['coco', 'yolo'])(
    'cxr-studio %s --images png8 exits 1 saying how many images and why',
    async (command, ctx) => {
      if (!disk) return ctx.skip()
      const out = join(disk, command)
      const run = await runCli([
        '--workspace',
        join(work, 'ws'),
        command,
        demo,
        '--out',
        out,
        '--images',
        'png8'
      ])
      expect(run.code).toBe(1)
      expect(run.stdout).toBe('')
      expect(run.stderr).toMatch(
        new RegExp(
          `^cxr-studio: ${out}: export incomplete: \\d+ of \\d+ image\\(s\\) not written \\(.*ENOSPC`
        )
      )
      expect(run.stderr).not.toContain('Exported')
      rmSync(out, { recursive: true, force: true })
    }
  )

  it('the back end: the export job fails with the same reason', async (ctx) => {
    if (!disk) return ctx.skip()
    backend = createBackend({ workspace: join(work, 'ws-backend'), host: 'web', logError: () => undefined })
    const call = caller(() => backend!)
    const { datasetId } = await backend.handlers.openDataset({ path: demo })
    const out = join(disk, 'gui-coco')
    const started = await call<{ jobId: string }>('exportDataset', {
      datasetId,
      format: 'coco',
      images: 'png8',
      valFraction: 0.2,
      seed: 42,
      policy: 'keep-boxed',
      out
    })
    const job: JobInfo = await jobEnded(backend, started.jobId)
    expect(job.state).toBe('failed')
    expect(job.error).toMatch(
      new RegExp(`^${out}: export incomplete: \\d+ of \\d+ image\\(s\\) not written .*ENOSPC`)
    )
    expect(existsSync(out)).toBe(true)
  }, 60_000)
})
