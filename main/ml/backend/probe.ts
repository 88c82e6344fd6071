// Which tfjs backend each choice gets on this machine, and why the faster ones are not used: what
// the Train view says before anything starts. Run in a worker (it loads tfjs and switches backends).
import type { BackendProbe } from '../../../common/contract'
import { errorMessage } from '../../core/errors'
import { describeBackend, initBackend } from './ladder'

export async function probeBackends(): Promise<BackendProbe> {
  const choices = {} as BackendProbe['choices']
  for (const choice of ['tensorflow', 'cpu', 'wasm'] as const) {
    try {
      const info = await initBackend(choice)
      choices[choice] = { available: true, reason: describeBackend(info) }
    } catch (err) {
      choices[choice] = { available: false, reason: errorMessage(err) }
    }
  }
  // last, so the ladder's own walk (and its reasons) is what `auto` reports
  const auto = await initBackend('auto')
  return { auto, choices }
}
