// The packaged app, built here by electron-builder around a placeholder Electron
// (`scripts/dist.mjs --placeholder`: no Electron binary can be downloaded on this machine). Checks
// every file is where the app loads it from, that the afterPack hook flipped the fuses, and runs the
// packaged back end's code with plain Node from outside the repository: workers, codecs and the
// tfjs WASM backend load from app.asar.unpacked alone.
import { fork, spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BackendProbe } from '../../common/contract'
import { META_CONTENT_SECURITY_POLICY } from '../../common/csp'
import { WORKER_SCRIPTS, workerScript, type WorkerScript } from '../../main/core/worker-scripts'
import { FUSES, LEFT_OUT_NATIVE, RENDERER_BUNDLED } from '../../electron-builder.config'
import { readAsar, type Asar } from './asar'
import { cspMeta } from './html'

const root = join(__dirname, '..', '..')
const FIXTURES = join(root, 'test', 'fixtures', 'dicom', 'files')
/** The codecs' and tfjs' WASM packages: their .wasm files are read with fs when first used. */
const WASM_PACKAGES = [
  '@cornerstonejs/codec-charls',
  '@cornerstonejs/codec-openjpeg',
  '@cornerstonejs/codec-libjpeg-turbo-8bit',
  '@tensorflow/tfjs-backend-wasm'
]

let out: string
let app: string
let resources: string
let unpacked: string
let asar: Asar

function run(command: string, args: string[], what: string): void {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (result.status !== 0)
    throw new Error(`${what} exited ${result.status}:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`)
}

/** Builds the parts of out/ that are missing (a fresh clone runs the unit tests before `build:web`). */
function ensureBuilt(): void {
  const missing = (files: string[]) => files.some((file) => !existsSync(join(root, file)))
  const nodeBundles = [...Object.keys(WORKER_SCRIPTS), 'cli'].map((name) => `out/node/${name}.js`)
  if (missing([...nodeBundles, 'out/node/package.json'])) run(process.execPath, ['scripts/build-node.mjs'], 'build-node')
  if (missing(['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html'])) {
    const bin = join(dirname(createRequire(join(root, 'package.json')).resolve('electron-vite/package.json')), 'bin', 'electron-vite.js')
    run(process.execPath, [bin, 'build'], 'electron-vite build')
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
}

const isRealFile = (path: string) => existsSync(path) && lstatSync(path).isFile()

beforeAll(() => {
  ensureBuilt()
  out = mkdtempSync(join(tmpdir(), 'cxr-dist-'))
  run(process.execPath, ['scripts/dist.mjs', '--placeholder', '--out', out], 'scripts/dist.mjs --placeholder')
  app = join(out, 'linux-unpacked')
  resources = join(app, 'resources')
  unpacked = join(resources, 'app.asar.unpacked')
  asar = readAsar(join(resources, 'app.asar'))
}, 180_000)

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true })
})

describe('the packaged app (electron-builder --dir, placeholder Electron)', () => {
  it("holds the app's entry points inside app.asar, as built, and no app folder beside it", () => {
    const manifest = JSON.parse(asar.read('package.json').toString('utf8')) as { main: string; type: string }
    expect(manifest).toMatchObject({ main: 'out/main/index.js', type: 'module' })
    for (const file of ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html']) {
      expect(asar.files.get(file), file).toMatchObject({ unpacked: false })
      expect(asar.read(file).equals(readFileSync(join(root, file))), `${file} is the built one`).toBe(true)
    }
    const rendererFiles = filesUnder(join(root, 'out', 'renderer')).map((file) => relative(root, file).split(sep).join('/'))
    for (const file of rendererFiles) expect(asar.files.has(file), file).toBe(true)
    // OnlyLoadAppFromAsar: nothing outside the archive could be loaded as the app anyway
    expect(existsSync(join(resources, 'app'))).toBe(false)
  })

  it('serves an index.html that carries the CSP in a <meta> tag ahead of its scripts', () => {
    const html = asar.read('out/renderer/index.html').toString('utf8')
    const meta = cspMeta(html)
    expect(meta, 'out/renderer/index.html has no CSP <meta>: rebuild it with `npx electron-vite build`').not.toBeNull()
    expect(meta!.policy).toBe(META_CONTENT_SECURITY_POLICY)
    expect(meta!.at).toBeLessThan(html.indexOf('<script'))
  })

  it('unpacks the back end and every worker script as real files, marked as ES modules', () => {
    for (const name of [...Object.keys(WORKER_SCRIPTS), 'cli']) {
      const file = `out/node/${name}.js`
      expect(asar.files.get(file), file).toMatchObject({ unpacked: true })
      expect(isRealFile(join(unpacked, file)), file).toBe(true)
      expect(readFileSync(join(unpacked, file)).equals(readFileSync(join(root, file))), `${file} is the built one`).toBe(true)
    }
    expect(JSON.parse(readFileSync(join(unpacked, 'out', 'node', 'package.json'), 'utf8'))).toEqual({ type: 'module' })
    expect([...asar.files.keys()].filter((file) => file.endsWith('.map'))).toEqual([])
  })

  it("unpacks the codecs' and tfjs' .wasm binaries next to the modules that read them", () => {
    for (const name of WASM_PACKAGES) {
      const wasm = filesUnder(join(root, 'node_modules', name)).filter((file) => file.endsWith('.wasm'))
      expect(wasm.length, name).toBeGreaterThan(0)
      for (const source of wasm) {
        const inPackage = relative(root, source).split(sep).join('/')
        expect(asar.files.get(inPackage), inPackage).toMatchObject({ unpacked: true })
        expect(readFileSync(join(unpacked, inPackage)).equals(readFileSync(source)), inPackage).toBe(true)
      }
    }
  })

  it('leaves out tfjs-node(-gpu) and the packages only the renderer bundle uses', () => {
    const packaged = new Set([...asar.files.keys()].filter((file) => file.startsWith('node_modules/')).map((file) => packageOf(file)))
    expect(packaged.has('@tensorflow/tfjs-core'), 'the back end still has tfjs').toBe(true)
    for (const name of [...LEFT_OUT_NATIVE, ...RENDERER_BUNDLED]) {
      expect(packaged.has(name), name).toBe(false)
      expect(existsSync(join(unpacked, 'node_modules', name)), name).toBe(false)
    }
  })

  it('has main find the back end in app.asar.unpacked, and the back end find its workers there', () => {
    // Electron's fs as main sees it: paths through app.asar exist when the archive lists them
    const asarRoot = join(resources, 'app.asar')
    const electronExists = (path: string) =>
      path.startsWith(asarRoot + sep) ? asar.files.has(relative(asarRoot, path).split(sep).join('/')) : existsSync(path)
    const fromMain = { from: pathToFileURL(join(asarRoot, 'out', 'main', 'index.js')).href, exists: electronExists }
    expect(workerScript('backend-process', fromMain)).toBe(join(unpacked, 'out', 'node', 'backend-process.js'))
    const fromBackEnd = { from: pathToFileURL(join(unpacked, 'out', 'node', 'backend-process.js')).href, exists: electronExists }
    for (const name of Object.keys(WORKER_SCRIPTS) as WorkerScript[])
      expect(workerScript(name, fromBackEnd), name).toBe(join(unpacked, 'out', 'node', `${name}.js`))
  })

  it('probes the tfjs backends from the packaged predict worker: WASM, with tfjs-node recorded as not installed', async () => {
    expect(ancestorsWithNodeModules(out), 'nothing above the package to resolve modules from').toEqual([])
    const probe = await runWorker<BackendProbe>(join(unpacked, 'out', 'node', 'predict-worker.js'), { kind: 'probe-backend' })
    expect(probe.auto.name).toBe('wasm')
    expect(probe.auto.fallbacks.map((fallback) => fallback.backend).sort()).toEqual([...LEFT_OUT_NATIVE].sort())
    for (const fallback of probe.auto.fallbacks) expect(fallback.reason).toMatch(/^not installed/)
  })

  it("ships onnxruntime-node's binary for this platform and architecture alone, and it loads from the package", () => {
    const bin = join(unpacked, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6')
    expect(readdirSync(bin)).toEqual([process.platform])
    expect(readdirSync(join(bin, process.platform))).toEqual([process.arch])
    expect(isRealFile(join(bin, process.platform, process.arch, 'onnxruntime_binding.node'))).toBe(true)
    const probe = spawnSync(
      process.execPath,
      ['-e', `const ort = require(${JSON.stringify(join(unpacked, 'node_modules', 'onnxruntime-node'))}); console.log(ort.env.versions.node, typeof ort.InferenceSession.create)`],
      { cwd: out, env: plainEnv(), encoding: 'utf8' }
    )
    expect(probe.status, probe.stderr).toBe(0)
    expect(probe.stdout.trim()).toMatch(/^1\.\d+\.\d+ function$/)
  })

  it('decodes JPEG baseline, JPEG-LS and JPEG 2000 with the packaged codecs exactly as the built CLI does', () => {
    const decoded = mkdtempSync(join(tmpdir(), 'cxr-decoded-'))
    try {
      for (const fixture of ['mono2_u8.jpeg-baseline', 'mono2_u16.jpegls', 'mono2_u16.j2k']) {
        const npy = (cli: string, name: string) => {
          const target = join(decoded, `${fixture}.${name}.npy`)
          const result = spawnSync(process.execPath, [cli, 'decode', join(FIXTURES, `${fixture}.dcm`), '--npy', target, '--no-cache'], {
            cwd: out,
            env: plainEnv(),
            encoding: 'utf8'
          })
          expect(result.status, `${name} ${fixture}: ${result.stderr}`).toBe(0)
          return readFileSync(target)
        }
        const packaged = npy(join(unpacked, 'out', 'node', 'cli.js'), 'packaged')
        expect(packaged.equals(npy(join(root, 'out', 'node', 'cli.js'), 'built')), fixture).toBe(true)
      }
    } finally {
      rmSync(decoded, { recursive: true, force: true })
    }
  })

  it('flips the fuses of the packaged executable in the afterPack hook', async () => {
    const executable = join(app, 'cxr-studio')
    const wire = await getCurrentFuseWire(executable)
    const before = await getCurrentFuseWire(join(out, 'placeholder-electron', 'electron'))
    for (const fuse of Object.values(FuseV1Options).filter((value) => typeof value === 'number')) {
      const expected = FUSES[fuse] ? '1' : '0'
      expect(String.fromCharCode(wire[fuse] as number), FuseV1Options[fuse]).toBe(expected)
    }
    // the placeholder starts from Electron's defaults, so the hook changed what it had to
    expect(String.fromCharCode(before[FuseV1Options.RunAsNode] as number)).toBe('1')
    expect(String.fromCharCode(before[FuseV1Options.OnlyLoadAppFromAsar] as number)).toBe('0')
  })
})

/** `node_modules/@scope/name/…` → `@scope/name`. */
function packageOf(file: string): string {
  const [, first, second] = file.split('/')
  return first.startsWith('@') ? `${first}/${second}` : first
}

function ancestorsWithNodeModules(dir: string): string[] {
  const found: string[] = []
  for (let at = dirname(dir); ; at = dirname(at)) {
    if (existsSync(join(at, 'node_modules'))) found.push(at)
    if (dirname(at) === at) return found
  }
}

/** The environment without anything that would let Node find modules outside the package. */
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.NODE_PATH
  delete env.NODE_OPTIONS
  return env
}

/** Starts a worker script as the CLI's launcher does and returns its result. */
function runWorker<R>(script: string, params: unknown): Promise<R> {
  return new Promise((resolve, reject) => {
    let stderr = ''
    const child = fork(script, [], { cwd: out, env: plainEnv(), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    child.on('message', (message: { type: string; result?: R; message?: string }) => {
      if (message.type === 'result') resolve(message.result!)
      if (message.type === 'error') reject(new Error(message.message))
    })
    child.on('exit', (code) => reject(new Error(`${script} exited ${code} without a result: ${stderr}`)))
    child.send({ type: 'start', params })
  })
}
