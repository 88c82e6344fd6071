// Radiograph-like DICOM images for the benchmarks, in every transfer syntax the app reads.
//
//   import { benchImages, BENCH_SIZES, BENCH_SYNTAXES } from './bench-images.mjs'
//   const set = await benchImages({ sizes: ['2048'], syntaxes: ['jpegls', 'j2k'] })
//   set.files['2048']['j2k']  // -> absolute path of a 2048x2048 12-bit JPEG 2000 lossless file
//
//   node scripts/bench-images.mjs [--dir DIR] [--sizes 2048,2336x2836] [--syntaxes j2k,jpegls]
//     writes the images (or finds them already written) and prints their paths and compression ratios.
//
// Pixels: the demo's chest phantom (main/core/demo/phantom.ts: body, lungs, vessels, ribs,
// clavicles, heart, spine) plus fine texture and signal-dependent, slightly correlated detector
// noise, so that a lossless codec compresses them about as much as a real radiograph (2-3x;
// a smooth synthetic image compresses 5-10x and makes every decoder look fast). Written as explicit
// VR little endian by CXR Studio's writer, then transcoded by dcmtk and gdcm (independent encoders:
// the decoders are checked against them). Files are cached in DIR by size, syntax and generator
// version, so helpers and repeated runs reuse them.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { nodeBundleOptions } from './esbuild-node.mjs'

const ROOT = join(import.meta.dirname, '..')
/** Bump when the pixels or the encoders' options change: cached files of another version are ignored. */
const GENERATOR_VERSION = 1

/**
 * The image sizes of the benchmark: real Kaggle sizes and bit depths (columns x rows). `usedBits`:
 * the signal spans about 2^usedBits values, as detectors storing 14 or 16 bits use 13-14 of them.
 */
export const BENCH_SIZES = {
  2048: { columns: 2048, rows: 2048, bitsStored: 12, usedBits: 12 },
  '2336x2836': { columns: 2336, rows: 2836, bitsStored: 16, usedBits: 14 },
  '4240x3480': { columns: 4240, rows: 3480, bitsStored: 14, usedBits: 13 }
}

/**
 * Syntax name -> how the file is made from the explicit-VR original and how the native tools decode
 * it. `maxBits`: the encoder's precision limit (the syntax is skipped for deeper images); `eightBit`:
 * made from an 8-bit copy (JPEG baseline).
 */
export const BENCH_SYNTAXES = {
  explicit: { uid: '1.2.840.10008.1.2.1', encoder: null, decoder: ['dcmconv', '+te'], lossless: true },
  implicit: {
    uid: '1.2.840.10008.1.2',
    encoder: ['dcmconv', '+ti'],
    decoder: ['dcmconv', '+te'],
    lossless: true
  },
  bigendian: {
    uid: '1.2.840.10008.1.2.2',
    encoder: ['dcmconv', '+tb'],
    decoder: ['dcmconv', '+te'],
    lossless: true
  },
  deflated: {
    uid: '1.2.840.10008.1.2.1.99',
    encoder: ['dcmconv', '+td'],
    decoder: ['dcmconv', '+te'],
    lossless: true
  },
  rle: { uid: '1.2.840.10008.1.2.5', encoder: ['dcmcrle'], decoder: ['dcmdrle'], lossless: true },
  'jpeg-p14': {
    uid: '1.2.840.10008.1.2.4.57',
    encoder: ['dcmcjpeg', '+el', '+sv', '6'],
    decoder: ['dcmdjpeg'],
    lossless: true
  },
  'jpeg-sv1': {
    uid: '1.2.840.10008.1.2.4.70',
    encoder: ['dcmcjpeg', '+e1'],
    decoder: ['dcmdjpeg'],
    lossless: true
  },
  'jpeg-baseline': {
    uid: '1.2.840.10008.1.2.4.50',
    encoder: ['dcmcjpeg', '+eb', '+q', '90'],
    decoder: ['dcmdjpeg'],
    lossless: false,
    eightBit: true
  },
  'jpeg-extended': {
    uid: '1.2.840.10008.1.2.4.51',
    encoder: ['dcmcjpeg', '+ee', '+q', '90'],
    decoder: ['dcmdjpeg'],
    lossless: false,
    maxBits: 12
  },
  jpegls: {
    uid: '1.2.840.10008.1.2.4.80',
    encoder: ['dcmcjpls', '+el'],
    decoder: ['dcmdjpls'],
    lossless: true
  },
  'jpegls-near': {
    uid: '1.2.840.10008.1.2.4.81',
    encoder: ['dcmcjpls', '+en', '+md', '2'],
    decoder: ['dcmdjpls'],
    lossless: false
  },
  j2k: {
    uid: '1.2.840.10008.1.2.4.90',
    encoder: ['gdcmconv', '--j2k'],
    decoder: ['gdcmconv', '--raw'],
    lossless: true
  },
  'j2k-lossy': {
    uid: '1.2.840.10008.1.2.4.91',
    encoder: ['gdcmconv', '--j2k', '--lossy', '-q', '70'],
    decoder: ['gdcmconv', '--raw'],
    lossless: false
  }
}

/** The tools the images need (dcmtk, gdcm); missing ones make benchImages throw with an apt-get hint. */
export function missingTools(syntaxes = Object.keys(BENCH_SYNTAXES)) {
  const tools = new Set()
  for (const name of syntaxes) {
    const syntax = BENCH_SYNTAXES[name]
    if (syntax.encoder) tools.add(syntax.encoder[0])
    tools.add(syntax.decoder[0])
  }
  return [...tools].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
}

export function defaultImageDir() {
  return join(tmpdir(), `cxr-bench-images-v${GENERATOR_VERSION}`)
}

let core = null
/** The demo phantom, its random streams and the DICOM writer, bundled from the app's TypeScript. */
async function loadCore() {
  if (core) return core
  const outfile = join(ROOT, 'out', 'bench', 'bench-images-core.mjs')
  await build({
    ...nodeBundleOptions,
    stdin: {
      contents: [
        "export { chestGeometry, renderChest } from './main/core/demo/phantom'",
        "export { Random } from './main/core/demo/random'",
        "export { writeDicom } from './main/core/dicom/write'"
      ].join('\n'),
      resolveDir: ROOT,
      loader: 'js'
    },
    outfile
  })
  core = await import(pathToFileURL(outfile).href)
  return core
}

/**
 * Stored values of a radiograph-like image: the phantom's densities, a fine texture (bone
 * trabeculae, small vessels) and detector noise whose deviation grows with the square root of the
 * signal (quantum noise), correlated between neighbours as a scintillator's blur makes it.
 */
export async function radiographPixels({ columns, rows, bitsStored, usedBits = bitsStored, seed = 1 }) {
  const { chestGeometry, renderChest, Random } = await loadCore()
  const random = new Random(seed, `bench ${columns}x${rows}x${bitsStored}/${usedBits}`)
  const density = renderChest(
    chestGeometry(random.fork('geometry')),
    [],
    rows,
    columns,
    random.fork('anatomy')
  )
  const max = 2 ** bitsStored - 1
  const low = 0.04 * 2 ** usedBits
  const span = 0.9 * 2 ** usedBits
  // detector noise in stored units at full signal: about 1% of the range, as in the demo images
  const noiseAtFull = 0.0095 * span
  const texture = fineTexture(columns, rows, random.fork('texture'))
  const normals = Float32Array.from({ length: 1 << 16 }, () => random.gaussian())
  const noise = random.fork('noise')
  const pixels = new Uint16Array(columns * rows)
  let previous = 0
  const above = new Float32Array(columns)
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const i = y * columns + x
      const signal = Math.max(0, density[i] + 0.025 * texture[i] * density[i])
      const white = normals[(noise.next() * 65536) | 0]
      const correlated = 0.7 * white + 0.35 * previous + 0.35 * above[x]
      previous = white
      above[x] = white
      const value = Math.round(
        low + signal * span + noiseAtFull * Math.sqrt(Math.min(1, signal)) * correlated
      )
      pixels[i] = value < 0 ? 0 : value > max ? max : value
    }
  }
  return pixels
}

/** Band-limited noise in -1..1 with features a few pixels across (bilinear over a random grid). */
function fineTexture(columns, rows, random) {
  const cell = 5
  const gw = Math.ceil(columns / cell) + 2
  const gh = Math.ceil(rows / cell) + 2
  const grid = Float32Array.from({ length: gw * gh }, () => 2 * random.next() - 1)
  const out = new Float32Array(columns * rows)
  for (let y = 0; y < rows; y++) {
    const gy = Math.floor(y / cell)
    const fy = (y % cell) / cell
    for (let x = 0; x < columns; x++) {
      const gx = Math.floor(x / cell)
      const fx = (x % cell) / cell
      const a = grid[gy * gw + gx] * (1 - fx) + grid[gy * gw + gx + 1] * fx
      const b = grid[(gy + 1) * gw + gx] * (1 - fx) + grid[(gy + 1) * gw + gx + 1] * fx
      out[y * columns + x] = a * (1 - fy) + b * fy
    }
  }
  return out
}

async function writeOriginal(path, size, pixels, eightBit) {
  const { bitsStored, usedBits } = size
  const { writeDicom } = await loadCore()
  const image = {
    rows: size.rows,
    columns: size.columns,
    bitsAllocated: eightBit ? 8 : 16,
    bitsStored: eightBit ? 8 : bitsStored,
    pixelRepresentation: 0,
    photometric: 'MONOCHROME2',
    pixels: eightBit ? Uint8Array.from(pixels, (v) => Math.min(255, v >> (usedBits - 8))) : pixels,
    windowCenter: eightBit ? 128 : 2 ** (usedBits - 1),
    windowWidth: eightBit ? 256 : 2 ** usedBits,
    studyInstanceUid: `2.25.${1000 + size.columns}`,
    seriesInstanceUid: `2.25.${2000 + size.columns}`,
    sopInstanceUid: `2.25.${3000 + size.columns}${eightBit ? '8' : ''}`,
    modality: 'DX',
    patientId: 'BENCH',
    patientName: 'Bench^Radiograph',
    bodyPartExamined: 'CHEST',
    viewPosition: 'PA',
    pixelSpacing: [0.139, 0.139]
  }
  const temp = `${path}.tmp`
  writeFileSync(temp, await writeDicom(image, 'explicit-le'))
  renameSync(temp, path)
}

/**
 * Writes (or finds, when already written) the images: `files[size][syntax]` is a path;
 * `ratios[size][syntax]` is the 16-bit (or 8-bit) pixel data size over the file size. Syntaxes an
 * encoder cannot take at a size's bit depth are left out of that size.
 */
export async function benchImages({
  sizes = Object.keys(BENCH_SIZES),
  syntaxes = Object.keys(BENCH_SYNTAXES),
  dir = defaultImageDir(),
  seed = 1,
  log = () => {}
} = {}) {
  const missing = missingTools(syntaxes)
  if (missing.length)
    throw new Error(`bench images need ${missing.join(', ')} (apt-get install dcmtk libgdcm-tools)`)
  mkdirSync(dir, { recursive: true })
  const files = {}
  const ratios = {}
  for (const sizeName of sizes) {
    const size = BENCH_SIZES[sizeName]
    if (!size)
      throw new Error(`unknown bench image size ${sizeName} (${Object.keys(BENCH_SIZES).join(', ')})`)
    const stem = join(dir, `cxr-${sizeName}-${size.bitsStored}bit-s${seed}`)
    const original = { 16: `${stem}-explicit.dcm`, 8: `${stem}-explicit8.dcm` }
    let pixels = null
    const ensureOriginal = async (eightBit) => {
      const path = original[eightBit ? 8 : 16]
      if (existsSync(path)) return path
      if (!pixels) {
        const start = Date.now()
        pixels = await radiographPixels({ ...size, seed })
        log(`  rendered ${sizeName} (${size.bitsStored} bits) in ${Date.now() - start} ms`)
      }
      await writeOriginal(path, size, pixels, eightBit)
      return path
    }
    files[sizeName] = {}
    ratios[sizeName] = {}
    for (const name of syntaxes) {
      const syntax = BENCH_SYNTAXES[name]
      if (syntax.maxBits && size.bitsStored > syntax.maxBits) continue
      const input = await ensureOriginal(Boolean(syntax.eightBit))
      const output = syntax.encoder ? `${stem}-${name}.dcm` : input
      if (!existsSync(output)) {
        const temp = `${output}.tmp.dcm`
        execFileSync(syntax.encoder[0], [...syntax.encoder.slice(1), input, temp], { stdio: 'ignore' })
        renameSync(temp, output)
      }
      files[sizeName][name] = output
      const pixelBytes = size.columns * size.rows * (syntax.eightBit ? 1 : 2)
      ratios[sizeName][name] = pixelBytes / statSync(output).size
    }
  }
  return { dir, files, ratios }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  const option = (name) => {
    const at = args.indexOf(`--${name}`)
    return at >= 0 ? args[at + 1] : undefined
  }
  const { dir, files, ratios } = await benchImages({
    dir: option('dir') ?? defaultImageDir(),
    sizes: option('sizes')?.split(','),
    syntaxes: option('syntaxes')?.split(','),
    log: (line) => console.log(line)
  })
  console.log(`bench images in ${dir} (ratio = uncompressed pixel bytes / file bytes):`)
  for (const [sizeName, bySyntax] of Object.entries(files))
    for (const [name, path] of Object.entries(bySyntax))
      console.log(
        `  ${sizeName.padEnd(10)} ${name.padEnd(14)} ${ratios[sizeName][name].toFixed(2).padStart(6)}x  ${path}`
      )
}
