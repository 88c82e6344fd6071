// What `npm test` needs beyond npm packages, found or installed before any test runs — the same
// script .ci/run uses. On Debian as root (or with passwordless sudo) it installs what is missing with
// apt; anywhere else it says exactly what to install and fails, so no test is skipped silently.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const DCMTK = ['dcmdump', 'dcmconv', 'dcmdrle', 'dcmdjpls', 'dcmdjpeg', 'dcmcjpeg', 'dcmcjpls', 'dcmcrle']

/** Each need: how to tell it is there, and the Debian package that provides it. */
const NEEDS = [
  { what: 'Chromium (e2e tests drive it)', ok: () => existsSync('/usr/bin/chromium'), apt: 'chromium' },
  {
    what: 'a font for the e2e screenshots',
    ok: () => existsSync('/usr/share/fonts/truetype/dejavu'),
    apt: 'fonts-dejavu-core'
  },
  {
    what: "dcmtk's command-line tools (fixtures are made and checked with them)",
    ok: () => DCMTK.every(hasCommand),
    apt: 'dcmtk'
  },
  { what: "gdcm's gdcmconv (JPEG 2000 fixtures)", ok: () => hasCommand('gdcmconv'), apt: 'libgdcm-tools' },
  {
    what: '/usr/bin/python3 with pydicom and numpy (an independent DICOM reader)',
    ok: () => run('/usr/bin/python3', ['-c', 'import pydicom, numpy']),
    apt: 'python3-pydicom python3-numpy'
  },
  {
    what: 'Orthanc with its DICOMweb plugin (a real PACS for the DICOMweb tests, started on loopback by test/pacs/orthanc.ts)',
    ok: () =>
      existsSync('/usr/sbin/Orthanc') && existsSync('/usr/share/orthanc/plugins/libOrthancDicomWeb.so'),
    apt: 'orthanc orthanc-dicomweb'
  },
  {
    what: "/usr/bin/python3 with torch, torchvision, PIL and onnx (the COCO export's torchrun recipe trains one step and its model is imported back)",
    ok: () => run('/usr/bin/python3', ['-c', 'import torch, torchvision, PIL, onnx']),
    apt: 'python3-torch python3-torchvision python3-pil python3-onnx'
  },
  {
    what: 'CA certificates (apt over https)',
    ok: () => existsSync('/etc/ssl/certs/ca-certificates.crt'),
    apt: 'ca-certificates'
  }
]

function run(command, args) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0
}

function hasCommand(command) {
  return run('sh', ['-c', `command -v ${command}`])
}

function missingNeeds() {
  return NEEDS.filter((need) => !need.ok())
}

function packagesOf(needs) {
  return [...new Set(needs.flatMap((need) => need.apt.split(' ')))]
}

/** The command prefix that may run apt-get here: nothing as root, `sudo -n` with passwordless sudo. */
function aptRunner() {
  if (!hasCommand('apt-get')) return null
  if (process.getuid?.() === 0) return []
  if (hasCommand('sudo') && run('sudo', ['-n', 'true'])) return ['sudo', '-n']
  return null
}

const missing = missingNeeds()
if (missing.length === 0) process.exit(0)

const packages = packagesOf(missing)
const runner = aptRunner()
process.stderr.write(`test prerequisites missing: ${missing.map((need) => need.what).join('; ')}\n`)
if (!runner) {
  process.stderr.write(
    `install them and run npm test again: on Debian/Ubuntu, as root:\n` +
      `  apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}\n` +
      `(this script installs them itself when run as root or with passwordless sudo)\n`
  )
  process.exit(1)
}

process.stderr.write(`installing with apt: ${packages.join(' ')}\n`)
// RUNLEVEL=1: invoke-rc.d then starts no service a package installs (Orthanc's package would start a
// system Orthanc on port 8042; the tests start their own on a free loopback port)
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' }
const apt = (args) =>
  spawnSync(runner[0] ?? 'apt-get', runner.length ? [...runner.slice(1), 'apt-get', ...args] : args, {
    stdio: 'inherit',
    env
  }).status === 0
if (!apt(['update', '-q']) || !apt(['install', '-y', '-q', '--no-install-recommends', ...packages])) {
  process.stderr.write(
    `apt-get could not install ${packages.join(' ')}; install them by hand and run npm test again\n`
  )
  process.exit(1)
}
const still = missingNeeds()
if (still.length) {
  process.stderr.write(`still missing after apt-get: ${still.map((need) => need.what).join('; ')}\n`)
  process.exit(1)
}
process.stderr.write('test prerequisites installed\n')
