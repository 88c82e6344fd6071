// Per-kernel timings of one step (a training step, a forward pass), summed by kernel name.
// On a shared machine wall time mostly measures the neighbours, so for synchronous backends
// (cpu, wasm) kernels can be timed in this process's CPU time instead.
import * as tf from '@tensorflow/tfjs-core'
import { readFileSync } from 'node:fs'

export interface KernelTiming {
  kernelName: string
  calls: number
  totalMs: number
  /** Fraction of all kernel time in this step. */
  share: number
}

export interface StepProfile {
  backend: string
  clock: 'cpu' | 'wall'
  /** Wall and process CPU time of the whole step (kernels plus JS glue). */
  wallMs: number
  cpuMs: number
  /** Sum of the kernels' own times. */
  kernelMs: number
  kernels: KernelTiming[]
  /** Tensors the step left behind (0 for a clean step) and its peak tensor memory. */
  newTensors: number
  peakBytes: number
}

export interface ProfileOptions {
  /** 'cpu' (default on cpu/wasm): process CPU time per kernel; 'wall': tfjs' own timer. */
  clock?: 'cpu' | 'wall'
}

type Timer = { time(f: () => void): Promise<{ kernelMs: number }> }

/** Runs `step` once under tf.profile and returns where its time went. */
export async function profileStep(
  step: () => void | tf.TensorContainer,
  options: ProfileOptions = {}
): Promise<StepProfile> {
  const backend = tf.backend() as unknown as Timer
  const synchronous = tf.getBackend() === 'wasm' || tf.getBackend() === 'cpu'
  const clock = options.clock ?? (synchronous ? 'cpu' : 'wall')
  const ownTime = Object.prototype.hasOwnProperty.call(backend, 'time') ? backend.time : undefined
  if (clock === 'cpu') {
    if (!synchronous)
      throw new Error(`CPU-time profiling needs a synchronous backend, not '${tf.getBackend()}'`)
    backend.time = async (f) => {
      const start = process.cpuUsage()
      f()
      const used = process.cpuUsage(start)
      return { kernelMs: (used.user + used.system) / 1000 }
    }
  }
  const wallStart = performance.now()
  const cpuStart = process.cpuUsage()
  let info: Awaited<ReturnType<typeof tf.profile>>
  try {
    info = await tf.profile(() => {
      const result = step()
      if (result) tf.dispose(result)
    })
  } finally {
    if (clock === 'cpu') {
      if (ownTime) backend.time = ownTime
      else delete (backend as Partial<Timer>).time
    }
  }
  const cpu = process.cpuUsage(cpuStart)
  const wallMs = performance.now() - wallStart

  const byName = new Map<string, { calls: number; totalMs: number }>()
  for (const kernel of info.kernels) {
    const ms = Number(await kernel.kernelTimeMs)
    const row = byName.get(kernel.name) ?? { calls: 0, totalMs: 0 }
    row.calls++
    row.totalMs += Number.isFinite(ms) ? ms : 0
    byName.set(kernel.name, row)
  }
  const kernelMs = [...byName.values()].reduce((sum, row) => sum + row.totalMs, 0)
  const kernels = [...byName.entries()]
    .map(([kernelName, row]) => ({ kernelName, ...row, share: kernelMs > 0 ? row.totalMs / kernelMs : 0 }))
    .sort((a, b) => b.totalMs - a.totalMs)
  return {
    backend: tf.getBackend(),
    clock,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    kernelMs,
    kernels,
    newTensors: info.newTensors,
    peakBytes: info.peakBytes
  }
}

/** A small text table of the top kernels, for logs and the benchmark script. */
export function formatProfile(profile: StepProfile, top = 12): string {
  const lines = [
    `${profile.backend}: step ${profile.wallMs.toFixed(0)} ms wall, ${profile.cpuMs.toFixed(0)} ms CPU; kernels ${profile.kernelMs.toFixed(0)} ms (${profile.clock} clock)`
  ]
  for (const k of profile.kernels.slice(0, top)) {
    lines.push(
      `  ${k.kernelName.padEnd(36)} ${k.totalMs.toFixed(1).padStart(8)} ms ${String(k.calls).padStart(5)} calls ${(100 * k.share).toFixed(1).padStart(5)}%`
    )
  }
  return lines.join('\n')
}

/**
 * CPU time of the calling thread alone (Linux /proc/thread-self/stat, 10 ms ticks), NaN elsewhere.
 * With two training threads process.cpuUsage() adds both; on a shared machine this tells what
 * each thread computed, whatever the neighbours did to the wall clock.
 */
export function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8')
    // fields after the parenthesised name: state is field 3, utime 14, stime 15
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}
