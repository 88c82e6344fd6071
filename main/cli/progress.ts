import cliProgress from 'cli-progress'
import type { Progress, ProgressListener } from '../../common/domain'

/**
 * A progress listener that draws one bar per stage on stderr (only on a terminal, so `--json`
 * output and logs stay clean). Call `stop()` when the work ends.
 */
export function stderrProgress(): ProgressListener & { stop(): void } {
  let bar: cliProgress.SingleBar | null = null
  let stage = ''
  const enabled = Boolean(process.stderr.isTTY)
  const listener = ((progress: Progress) => {
    if (!enabled) return
    if (progress.stage !== stage || !bar) {
      bar?.stop()
      stage = progress.stage
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `${stage.padEnd(14)} {bar} {value}/{total} {percentage}% | ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: false
        },
        cliProgress.Presets.shades_classic
      )
      bar.start(progress.total, progress.done)
    } else {
      bar.setTotal(progress.total)
      bar.update(progress.done)
    }
  }) as ProgressListener & { stop(): void }
  listener.stop = () => {
    bar?.stop()
    bar = null
  }
  return listener
}
