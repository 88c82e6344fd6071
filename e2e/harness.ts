// What the e2e specs and the viewer benchmark share: the CLI (the source of truth the UI is checked
// against), a web host on a generated dataset, and readers for canvas pixels.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from '@playwright/test'
import { PNG } from 'pngjs'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(repoRoot, 'bin', 'cxr-studio.mjs')

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run'
]

/** Runs `cxr-studio ARGS` and returns stdout (throws with stderr when it fails). */
export function runCli(args: string[], workspace: string): string {
  const result = spawnSync(process.execPath, [cli, '--workspace', workspace, ...args], {
    encoding: 'utf8',
    maxBuffer: 256 << 20
  })
  if (result.status !== 0)
    throw new Error(`cxr-studio ${args.join(' ')} failed (${result.status}): ${result.stderr}`)
  return result.stdout
}

export function checkBuilt(): void {
  for (const file of ['out/node/cli.js', 'out/renderer/index.html']) {
    if (!existsSync(join(repoRoot, file)))
      throw new Error(`${file} is missing: run \`npm run build:node && npx electron-vite build\` first`)
  }
}

export interface Eda {
  studies: Record<'total' | 'negative' | 'typical' | 'indeterminate' | 'atypical', number>
  images: { total: number; withBoxes: number; withoutBoxes: number }
  boxes: { total: number }
  positivesWithoutBoxes: { images: number; studies: number }
}

export interface IndexedImage {
  path: string
  studyId: string
  imageId: string
  rows: number
  columns: number
  photometric: string
  bitsStored: number
}

export interface Box {
  x: number
  y: number
  width: number
  height: number
}

export const BROKEN_IMAGE_ID = 'badc0ffee000'

export interface DemoDataset {
  root: string
  workspace: string
  eda: Eda
  images: IndexedImage[]
  /** train_image_level.csv boxes by imageId, parsed here independently of the app. */
  boxes: Map<string, Box[]>
  duplicates: Array<{ studyId: string; boxedImageId: string; duplicateImageId: string }>
}

export function makeDemo(
  args: string[] = ['--studies', '16', '--test-studies', '4', '--seed', '7']
): DemoDataset {
  const base = mkdtempSync(join(tmpdir(), 'cxr-e2e-'))
  const root = join(base, 'siim-demo')
  const workspace = join(base, 'workspace')
  const summary = JSON.parse(runCli(['demo', root, ...args, '--json'], workspace)) as {
    quirks: { duplicates: DemoDataset['duplicates'] }
  }
  // One broken file, as real folders have: it must show its error, never a black canvas.
  const firstStudy = readdirSync(join(root, 'train')).sort()[0]
  const firstSeries = readdirSync(join(root, 'train', firstStudy))[0]
  writeFileSync(
    join(root, 'train', firstStudy, firstSeries, `${BROKEN_IMAGE_ID}.dcm`),
    'DICM? no: this file was cut short'
  )
  const eda = JSON.parse(runCli(['eda', root, '--json'], workspace)) as Eda
  const index = JSON.parse(runCli(['index', root, '--json'], workspace)) as { images: IndexedImage[] }
  return {
    root,
    workspace,
    eda,
    images: index.images,
    boxes: readBoxes(join(root, 'train_image_level.csv')),
    duplicates: summary.quirks.duplicates
  }
}

/** `[{'x': 1.5, 'y': 2, 'width': 3, 'height': 4}, …]` per `<image>_image` row. */
function readBoxes(csv: string): Map<string, Box[]> {
  const boxes = new Map<string, Box[]>()
  for (const line of readFileSync(csv, 'utf8').split('\n').slice(1)) {
    const id = /^([0-9a-f]+)_image,/.exec(line)?.[1]
    if (!id) continue
    const found = [
      ...line.matchAll(/\{'x': ([\d.]+), 'y': ([\d.]+), 'width': ([\d.]+), 'height': ([\d.]+)\}/g)
    ]
    boxes.set(
      id,
      found.map((m) => ({ x: Number(m[1]), y: Number(m[2]), width: Number(m[3]), height: Number(m[4]) }))
    )
  }
  return boxes
}

export interface WebHostProcess {
  url: string
  child: ChildProcess
  stop(): Promise<void>
}

/** `cxr-studio serve` on a free port; resolves with the tokened URL it prints. */
export function startHost(workspace: string): Promise<WebHostProcess> {
  const child = spawn(process.execPath, [cli, '--workspace', workspace, 'serve', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  // A timed-out test may never reach its teardown: never leave a host running after the runner exits.
  const killOnExit = () => child.kill('SIGTERM')
  process.once('exit', killOnExit)
  child.once('exit', () => process.off('exit', killOnExit))
  return new Promise((resolve, reject) => {
    let stdout = ''
    child.stdout!.on('data', (chunk) => {
      stdout += chunk
      const url = /^(http:\/\/\S+)\n/.exec(stdout)?.[1]
      if (url)
        resolve({
          url,
          child,
          stop: () =>
            new Promise((done) => {
              child.once('exit', () => done())
              child.kill('SIGTERM')
            })
        })
    })
    child.once('exit', (code) => reject(new Error(`cxr-studio serve exited (${code}): ${stderr}`)))
  })
}

/** The display image `cxr-studio decode --display` writes (VOI + MONOCHROME1 inversion), as grey bytes. */
export function cliDisplayImage(
  file: string,
  workspace: string
): { width: number; height: number; grey: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), 'cxr-e2e-display-'))
  const out = join(dir, 'display.png')
  runCli(['decode', file, '--npy', out, '--display'], workspace)
  const png = PNG.sync.read(readFileSync(out))
  rmSync(dir, { recursive: true, force: true })
  const grey = new Uint8Array(png.width * png.height)
  for (let i = 0; i < grey.length; i++) grey[i] = png.data[i * 4]
  return { width: png.width, height: png.height, grey }
}

export interface CanvasPixels {
  width: number
  height: number
  rgba: Uint8ClampedArray
}

/** Waits until the page has painted twice (overlays are drawn in the frame after the image). */
export async function nextFrames(page: Page): Promise<void> {
  await page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const raf = (globalThis as unknown as { requestAnimationFrame(callback: () => void): void })
          .requestAnimationFrame
        raf(() => raf(resolve))
      })
  )
}

/** The viewer canvas' pixels, as the page drew them (PNG from toDataURL: lossless and quick to ship). */
export async function readCanvas(page: Page): Promise<CanvasPixels> {
  const dataUrl = await page
    .locator('[data-testid=viewport] canvas')
    .evaluate((element) => (element as unknown as { toDataURL(type: string): string }).toDataURL('image/png'))
  const png = PNG.sync.read(Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64'))
  return {
    width: png.width,
    height: png.height,
    rgba: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length)
  }
}

/** Where cornerstone puts an image fitted to the canvas: scaled to fit, centred, no pan. */
export function fitGeometry(
  canvas: { width: number; height: number },
  image: { columns: number; rows: number }
) {
  const scale = Math.min(canvas.width / image.columns, canvas.height / image.rows)
  return {
    scale,
    left: (canvas.width - image.columns * scale) / 2,
    top: (canvas.height - image.rows * scale) / 2,
    toCanvas: (x: number, y: number) => ({
      x: (canvas.width - image.columns * scale) / 2 + x * scale,
      y: (canvas.height - image.rows * scale) / 2 + y * scale
    })
  }
}

export function pixel(canvas: CanvasPixels, x: number, y: number): [number, number, number] {
  const i = (Math.round(y) * canvas.width + Math.round(x)) * 4
  return [canvas.rgba[i], canvas.rgba[i + 1], canvas.rgba[i + 2]]
}

/** A saturated pixel: overlay colour, never a grey image value. */
export function isColoured([r, g, b]: [number, number, number]): boolean {
  return Math.max(r, g, b) - Math.min(r, g, b) > 60
}

/** Mean grey level of the image area (inset to skip overlays at the edges). */
export function meanGrey(
  canvas: CanvasPixels,
  area: { left: number; top: number; width: number; height: number }
): number {
  let sum = 0
  let count = 0
  for (let y = Math.ceil(area.top + 4); y < area.top + area.height - 4; y += 3) {
    for (let x = Math.ceil(area.left + 4); x < area.left + area.width - 4; x += 3) {
      const [r, g, b] = pixel(canvas, x, y)
      if (isColoured([r, g, b])) continue
      sum += (r + g + b) / 3
      count++
    }
  }
  return sum / count
}
