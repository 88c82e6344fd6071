#!/usr/bin/env node
// DICOM benchmark: header indexing vs pydicom, and decoding per transfer syntax vs dcmtk/gdcm.
//
//   npm run bench:dicom [-- --files 312 --runs 5 --keep]
//
// Generates (in a temp dir) one 2048x2048 16-bit image (12 bits stored, MONOCHROME2) as explicit VR
// little endian with pydicom, transcodes it into every syntax with dcmtk/gdcm, then measures:
//   index:  files/s of `cxr-studio index DIR --json` (whole process, fresh workspace) vs a whole
//           /usr/bin/python3 process walking the same tree with dcmread(f, stop_before_pixels=True).
//           The tree holds --files paths: hard links to the 13 generated files (same bytes for both tools).
//   decode: ms to decode the same file in-process (decodeFile: read + parse + decode + stored values;
//           warm, median of --runs) vs the wall time of dcmtk's command-line decoder (or gdcmconv for
//           JPEG 2000, dcmconv for the native syntaxes) decoding it to an uncompressed file (median).
import { execFileSync, spawnSync } from 'node:child_process'
import { linkSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { nodeBundleOptions } from './esbuild-node.mjs'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`)
  return at >= 0 ? Number(args[at + 1]) : fallback
}
const FILES = option('files', 312)
const RUNS = option('runs', 5)
const KEEP = args.includes('--keep')
const SIZE = option('size', 2048)

const TOOLS = [
  'dcmconv',
  'dcmcjpeg',
  'dcmdjpeg',
  'dcmcjpls',
  'dcmdjpls',
  'dcmcrle',
  'dcmdrle',
  'gdcmconv',
  '/usr/bin/python3'
]
const missing = TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
if (missing.length) {
  console.log(
    `bench-dicom: skipped, missing tools: ${missing.join(', ')} (apt-get install dcmtk libgdcm-tools python3-pydicom)`
  )
  process.exit(0)
}

// syntax name -> [encoder argv (input, output appended), reference decoder argv]
const SYNTAXES = {
  explicit: [null, ['dcmconv', '+te']],
  implicit: [
    ['dcmconv', '+ti'],
    ['dcmconv', '+te']
  ],
  bigendian: [
    ['dcmconv', '+tb'],
    ['dcmconv', '+te']
  ],
  deflated: [
    ['dcmconv', '+td'],
    ['dcmconv', '+te']
  ],
  rle: [['dcmcrle'], ['dcmdrle']],
  'jpeg-p14': [['dcmcjpeg', '+el', '+sv', '6'], ['dcmdjpeg']],
  'jpeg-sv1': [['dcmcjpeg', '+e1'], ['dcmdjpeg']],
  'jpeg-baseline (8-bit)': [['dcmcjpeg', '+eb', '+q', '90'], ['dcmdjpeg'], '8bit'],
  'jpeg-extended (12-bit)': [['dcmcjpeg', '+ee', '+q', '90'], ['dcmdjpeg']],
  jpegls: [['dcmcjpls', '+el'], ['dcmdjpls']],
  'jpegls-near': [['dcmcjpls', '+en', '+md', '2'], ['dcmdjpls']],
  j2k: [
    ['gdcmconv', '--j2k'],
    ['gdcmconv', '--raw']
  ],
  'j2k-lossy': [
    ['gdcmconv', '--j2k', '--lossy', '-q', '70'],
    ['gdcmconv', '--raw']
  ]
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}
// GNU time reports the child's CPU time: on a shared machine CPU time is steadier than wall time
const GNU_TIME = spawnSync('/usr/bin/time', ['-f', '%U', 'true']).status === 0
/** Runs a process; returns its wall time and (with GNU time) its user+system CPU time, in ms. */
const runTimed = (command, argv) => {
  const start = process.hrtime.bigint()
  const result = GNU_TIME
    ? spawnSync('/usr/bin/time', ['-f', 'CXRCPU %U %S', command, ...argv], {
        stdio: ['ignore', 'ignore', 'pipe']
      })
    : spawnSync(command, argv, { stdio: ['ignore', 'ignore', 'pipe'] })
  const wall = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== 0)
    throw new Error(`${command} ${argv.join(' ')}: exit ${result.status}: ${result.stderr}`)
  const cpu = /CXRCPU ([\d.]+) ([\d.]+)/.exec(String(result.stderr))
  return { wall, cpu: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : NaN }
}
const wallMs = (command, argv) => runTimed(command, argv).wall

const work = mkdtempSync(join(tmpdir(), 'cxr-bench-dicom-'))
const src = join(work, 'src')
mkdirSync(src)
try {
  console.log(
    `generating a ${SIZE}x${SIZE} 16-bit image (12 bits stored) in ${Object.keys(SYNTAXES).length} syntaxes in ${work} ...`
  )
  execFileSync('/usr/bin/python3', [
    '-c',
    `
import numpy as np, pydicom, sys
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
n = ${SIZE}
rng = np.random.default_rng(1)
y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
# a chest-radiograph-like image: smooth body, two darker lungs, noise, hard collimation edges
img = 2600 - 900 * np.exp(-((x - 0.32) ** 2 / 0.02 + (y - 0.5) ** 2 / 0.08)) - 900 * np.exp(-((x - 0.68) ** 2 / 0.02 + (y - 0.5) ** 2 / 0.08))
img += 150 * np.sin(x * 40) * np.cos(y * 30) + rng.normal(0, 40, (n, n))
img[:, : n // 20] = 4095
img[:, -n // 20:] = 0
for bits, name in ((12, 'explicit'), (8, 'explicit8')):
    values = np.clip(img if bits == 12 else img / 16, 0, (1 << bits) - 1).astype(np.uint16 if bits == 12 else np.uint8)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.1.1'
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset(); ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.Modality = 'DX'
    ds.PatientID = 'BENCH'; ds.PatientName = 'Bench^Image'; ds.StudyDescription = 'CHEST PA'
    ds.ImagerPixelSpacing = [0.139, 0.139]
    ds.Rows = ds.Columns = n; ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.BitsAllocated = 16 if bits == 12 else 8; ds.BitsStored = bits; ds.HighBit = bits - 1; ds.PixelRepresentation = 0
    ds.WindowCenter = 2048 if bits == 12 else 128; ds.WindowWidth = 4096 if bits == 12 else 256
    ds.PixelData = values.tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(sys.argv[1] + '/' + name + '.dcm', write_like_original=False)
`,
    src
  ])
  const files = {}
  for (const [name, [encoder, , variant]] of Object.entries(SYNTAXES)) {
    const input = join(src, variant === '8bit' ? 'explicit8.dcm' : 'explicit.dcm')
    const output = join(src, `${name.split(' ')[0]}.dcm`)
    if (encoder) execFileSync(encoder[0], [...encoder.slice(1), input, output], { stdio: 'ignore' })
    files[name] = encoder ? output : input
  }

  // ---- index ----
  const tree = join(work, 'tree')
  const names = Object.values(files)
  for (let i = 0; i < FILES; i++) {
    const dir = join(tree, 'train', `study${String(i).padStart(5, '0')}`, 'series')
    mkdirSync(dir, { recursive: true })
    linkSync(names[i % names.length], join(dir, `image${i}.dcm`))
  }
  const cli = join(import.meta.dirname, '..', 'bin', 'cxr-studio.mjs')
  const pydicomScript = `
import os, sys, pydicom
n = 0
for root, dirs, names in os.walk(sys.argv[1]):
    for name in names:
        if name.lower().endswith('.dcm'):
            ds = pydicom.dcmread(os.path.join(root, name), stop_before_pixels=True)
            ds.Rows, ds.Columns, ds.StudyInstanceUID, ds.file_meta.TransferSyntaxUID
            n += 1
print(n)
`
  const oursRuns = []
  const pydicomRuns = []
  for (let run = 0; run < 3; run++) {
    const workspace = mkdtempSync(join(work, 'ws-'))
    oursRuns.push(runTimed(process.execPath, [cli, '--workspace', workspace, 'index', tree, '--json']))
    pydicomRuns.push(runTimed('/usr/bin/python3', ['-c', pydicomScript, tree]))
  }
  const workspace = mkdtempSync(join(work, 'ws-'))
  wallMs(process.execPath, [cli, '--workspace', workspace, 'index', tree, '--json'])
  const cached = runTimed(process.execPath, [cli, '--workspace', workspace, 'index', tree, '--json'])
  const startup = runTimed(process.execPath, [cli, '--help'])
  const ours = { wall: median(oursRuns.map((r) => r.wall)), cpu: median(oursRuns.map((r) => r.cpu)) }
  const theirs = { wall: median(pydicomRuns.map((r) => r.wall)), cpu: median(pydicomRuns.map((r) => r.cpu)) }
  const line = (label, r) =>
    `  ${label.padEnd(44)} ${r.wall.toFixed(0).padStart(6)} ms ${(FILES / (r.wall / 1000)).toFixed(0).padStart(6)} files/s   cpu ${r.cpu.toFixed(0).padStart(6)} ms`
  console.log(
    `\nindex: ${FILES} files (hard links to ${names.length} files of ${(statSync(files.explicit).size / 1e6).toFixed(1)} MB and smaller), whole process, median of 3`
  )
  console.log(line('cxr-studio index --json (fresh workspace)', ours))
  console.log(line('cxr-studio index --json (cache warm)', cached))
  console.log(line('pydicom dcmread(stop_before_pixels=True)', theirs))
  console.log(
    `  (cxr-studio --help alone: ${startup.wall.toFixed(0)} ms wall, ${startup.cpu.toFixed(0)} ms cpu: CLI start-up, included above)`
  )
  console.log(
    `  ratio (ours files/s / pydicom files/s): wall ${(theirs.wall / ours.wall).toFixed(2)}x, cpu ${(theirs.cpu / ours.cpu).toFixed(2)}x  (target >= 2x)`
  )

  // ---- decode ----
  const bundle = join(import.meta.dirname, '..', 'out', 'bench', 'decode.mjs')
  await build({
    entryPoints: [join(import.meta.dirname, '..', 'main', 'core', 'dicom', 'decode.ts')],
    outfile: bundle,
    ...nodeBundleOptions
  })
  const { decodeFile } = await import(pathToFileURL(bundle).href)
  console.log(
    `\ndecode ${SIZE}x${SIZE}: ours = in-process decodeFile, warm, median of ${RUNS}; tool = whole process decoding to a file, median of 3`
  )
  console.log(
    `  ${'syntax'.padEnd(24)} ${'MB'.padStart(6)} | ${'ours ms'.padStart(8)} ${'tool ms'.padStart(8)} ${'ratio'.padStart(6)} | ${'ours cpu'.padStart(8)} ${'tool cpu'.padStart(8)} ${'ratio'.padStart(6)} | tool`
  )
  const rows = []
  for (const [name, [, decoder]] of Object.entries(SYNTAXES)) {
    const file = files[name]
    await decodeFile(file) // warm-up: codec initialisation and JIT
    await decodeFile(file)
    const oursWall = []
    const oursCpu = []
    for (let i = 0; i < RUNS; i++) {
      const cpu0 = process.cpuUsage()
      const start = process.hrtime.bigint()
      await decodeFile(file)
      oursWall.push(Number(process.hrtime.bigint() - start) / 1e6)
      const cpu = process.cpuUsage(cpu0)
      oursCpu.push((cpu.user + cpu.system) / 1000)
    }
    const out = join(work, 'decoded.dcm')
    const tool = [0, 1, 2].map(() => runTimed(decoder[0], [...decoder.slice(1), file, out]))
    const row = {
      name,
      mb: statSync(file).size / 1e6,
      ours: median(oursWall),
      oursCpu: median(oursCpu),
      tool: median(tool.map((t) => t.wall)),
      toolCpu: median(tool.map((t) => t.cpu)),
      toolName: decoder.join(' ')
    }
    rows.push(row)
    const f = (v) => v.toFixed(1).padStart(8)
    console.log(
      `  ${name.padEnd(24)} ${row.mb.toFixed(2).padStart(6)} | ${f(row.ours)} ${f(row.tool)} ${(row.ours / row.tool).toFixed(2).padStart(6)} | ${f(row.oursCpu)} ${f(row.toolCpu)} ${(row.oursCpu / row.toolCpu).toFixed(2).padStart(6)} | ${row.toolName}`
    )
  }
  console.log(
    '  ratio = ours / tool (target <= 1.5). The tool times include process start-up and writing the decoded file.'
  )
  const resultsDir = join(import.meta.dirname, '..', 'bench-results')
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(
    join(resultsDir, 'dicom.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        size: SIZE,
        index: { files: FILES, ours, cached, pydicom: theirs, startup },
        decode: rows
      },
      null,
      2
    ) + '\n'
  )
} finally {
  if (KEEP) console.log(`kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
}
