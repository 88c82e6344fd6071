// How training numbers and states read on screen, shared by the Train, dashboard and Runs views.
import type {
  BackendInfo,
  BackendProbe,
  BestScore,
  EpochRecord,
  JobEnd,
  JobInfo,
  RunState,
  RunSummary,
  TrainResult
} from '../../../common/contract'

export const RUN_STATE_LABELS: Record<RunState, string> = {
  queued: 'queued',
  running: 'running',
  completed: 'completed',
  cancelled: 'cancelled',
  'time-limit': 'time limit reached',
  'early-stopped': 'stopped early',
  failed: 'failed',
  interrupted: 'interrupted',
  unknown: 'unknown'
}

export const RUN_STATE_COLORS: Record<RunState, string> = {
  queued: '#7d8896',
  running: '#4fa3ff',
  completed: '#3ddc84',
  cancelled: '#ffb020',
  'time-limit': '#3ddc84',
  'early-stopped': '#3ddc84',
  failed: '#ff5a5f',
  interrupted: '#ffb020',
  unknown: '#7d8896'
}

/**
 * The run's state as the dashboard names it: its job while that runs, then how the job ended until
 * the folder is re-read (a moment later), else the folder's own state.
 */
export function describeRunState(
  job: JobInfo | null,
  cancelRequested: boolean,
  end: JobEnd | null,
  summary: RunSummary | null
): { key: RunState; label: string } {
  if (job?.state === 'queued') return { key: 'queued', label: 'queued (waiting for another training)' }
  if (job?.state === 'running') return { key: 'running', label: cancelRequested ? 'stopping…' : 'running' }
  if (end && (!summary || summary.state === 'running')) {
    const status = (job?.result as Partial<TrainResult> | null)?.status
    const key: RunState =
      end.state === 'done'
        ? (status ?? 'completed')
        : end.state === 'queued' || end.state === 'running'
          ? 'unknown'
          : end.state
    return { key, label: RUN_STATE_LABELS[key] }
  }
  const key = summary?.state ?? 'unknown'
  return { key, label: RUN_STATE_LABELS[key] }
}

/** Runs that can continue from checkpoints/last as they are. */
export const RESUMABLE_STATES: readonly RunState[] = ['cancelled', 'time-limit', 'interrupted']
/** Runs that continue only with more epochs. */
export const EXTENDABLE_STATES: readonly RunState[] = ['completed', 'early-stopped']

/** `45 s`, `12:05`, `1:02:03`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—'
  const total = Math.max(0, Math.round(seconds))
  if (total < 60) return `${total} s`
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

export function formatScore(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits)
}

/** Losses and learning rates span decades: a few significant digits. */
export function formatScalar(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—'
  if (!Number.isFinite(value)) return String(value)
  return Math.abs(value) >= 1e-3 || value === 0
    ? String(Number(value.toPrecision(4)))
    : value.toExponential(2)
}

/** `final 0.412 at epoch 7`, or `val loss 1.23 at epoch 7` without a validation score. */
export function describeBest(best: BestScore | null | undefined): string {
  if (!best) return 'no best epoch yet'
  if (best.metric !== 'final') return `validation loss ${formatScalar(best.value)} at epoch ${best.epoch}`
  const smoothed =
    best.rule === 'smoothed' && best.smoothed !== undefined && best.smoothedEpochs
      ? ` (best by the mean of epoch${best.smoothedEpochs.length > 1 ? 's' : ''} ${best.smoothedEpochs.join(', ')}: ${formatScore(best.smoothed)})`
      : ''
  return `final score ${formatScore(best.value)} at epoch ${best.epoch}${smoothed}`
}

/** `epoch 3: train loss 1.2 · validation loss 1.4 · final 0.31 · study mAP 0.4 · lr 0.001 · 12 s`. */
export function describeEpoch(record: EpochRecord): string {
  const frozen = record.frozen.length ? ` · ${record.frozen.length} backbone stages frozen` : ''
  return (
    `epoch ${record.epoch}: train loss ${formatScalar(record.train.total)} · ` +
    `validation loss ${formatScalar(record.val?.total)} · final ${formatScalar(record.final)} · ` +
    `study mAP ${formatScalar(record.studyMap)} · lr ${formatScalar(record.lr)} · ` +
    `${formatDuration(record.seconds)}${frozen}`
  )
}

const BACKEND_NAMES: Record<BackendInfo['name'], string> = {
  tensorflow: 'TensorFlow',
  wasm: 'WASM',
  cpu: 'CPU (pure JS)'
}

/** `WASM (SIMD) on CPU, 1 thread`. */
export function describeBackend(info: BackendInfo): string {
  const simd = info.name === 'wasm' && info.simd !== undefined ? (info.simd ? ' (SIMD)' : ' (no SIMD)') : ''
  return `${BACKEND_NAMES[info.name]}${simd} on ${info.device}, ${info.threads} thread${info.threads === 1 ? '' : 's'}`
}

/** Why the faster backends are not used: `@tensorflow/tfjs-node-gpu: not installed; …`. */
export function describeFallbacks(info: BackendInfo): string {
  return info.fallbacks.map((f) => `${f.backend}: ${f.reason}`).join('; ')
}

/** What the chosen backend setting will run on here, and why. */
export function backendNote(probe: BackendProbe, choice: string): { text: string; available: boolean } {
  if (!choice || choice === 'auto') {
    const why = describeFallbacks(probe.auto)
    return { text: `${describeBackend(probe.auto)}${why ? ` — ${why}` : ''}`, available: true }
  }
  const option = probe.choices[choice as keyof BackendProbe['choices']]
  if (!option) return { text: `${choice}: unknown backend`, available: false }
  const name = BACKEND_NAMES[choice as BackendInfo['name']] ?? choice
  return option.available
    ? { text: option.reason ? `${name} — ${option.reason}` : name, available: true }
    : { text: `${name} is not available here: ${option.reason}`, available: false }
}
