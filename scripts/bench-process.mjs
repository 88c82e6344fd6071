// What the bench scripts share: running a child process, the Python that has torch, and the
// OpenBLAS core type its peer runs with.
import { execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const PYTHON = '/usr/bin/python3'
export const CLI = join(ROOT, 'bin/cxr-studio.mjs')

/** Runs a command from the repository root; resolves with its exit code and output, never rejects. */
export function run(command, args, { timeoutMs = 0, quiet = false, env = process.env } = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', quiet ? 'pipe' : 'inherit']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr?.on('data', (d) => (stderr += d))
    const timer = timeoutMs ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : null
    child.on('error', (err) => {
      if (timer) clearTimeout(timer)
      resolvePromise({ code: -1, stdout, stderr: `${command}: ${err.message}` })
    })
    child.on('close', (code) => {
      if (timer) clearTimeout(timer)
      resolvePromise({ code, stdout, stderr })
    })
  })
}

// Debian's OpenBLAS 0.3.21 takes recent Xeons for a "Prescott" and runs its slowest kernels: the
// PyTorch peer runs with the core type the CPU has (AVX-512: SkylakeX, AVX2: Haswell), and
// OPENBLAS_VERBOSE=2 makes OpenBLAS print the core it used, reported beside the figures.
function openblasCoreType() {
  try {
    const flags =
      readFileSync('/proc/cpuinfo', 'utf8')
        .match(/^flags\s*:(.*)$/m)?.[1]
        .split(/\s+/) ?? []
    if (flags.includes('avx512f')) return 'SkylakeX'
    if (flags.includes('avx2')) return 'Haswell'
  } catch {
    // not Linux: OpenBLAS chooses
  }
  return null
}
export const OPENBLAS_CORETYPE = openblasCoreType()
export const torchEnv = {
  ...process.env,
  OPENBLAS_VERBOSE: '2',
  ...(OPENBLAS_CORETYPE ? { OPENBLAS_CORETYPE } : {})
}
export const openblasCore = (stderr) => stderr.match(/Core:\s*(\S+)/)?.[1] ?? 'not reported'

export const hasPython = (module) =>
  new Promise((ok) => execFile(PYTHON, ['-c', `import ${module}`], (err) => ok(!err)))

/** The last line of `text` that starts with `{`, parsed (the scripts' summary line), or null. */
export function lastJsonLine(text) {
  const line = text
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'))
  return line ? JSON.parse(line) : null
}
