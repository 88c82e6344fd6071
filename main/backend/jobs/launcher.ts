// How a job starts its worker process. One interface, two implementations: a Node child process
// (the CLI and the web host, here) and an Electron utilityProcess started by the app's main process
// (port-launcher.ts), so training and prediction never run in the process that serves the UI.
import { fork, type ChildProcess } from 'node:child_process'
import type { WorkerCommand, WorkerMessage } from '../../workers/protocol'

export interface WorkerExit {
  code: number | null
  signal: string | null
  /** The end of what the worker wrote to stderr: the reason a crash gives. */
  stderr: string
}

/** The part of a worker process a job needs. */
export interface WorkerProcess {
  send(message: WorkerCommand): void
  onMessage(listener: (message: WorkerMessage) => void): void
  onExit(listener: (exit: WorkerExit) => void): void
  kill(): void
}

export interface WorkerLauncher {
  /** Starts `script` (an absolute path from core/worker-scripts.ts). */
  launch(script: string): WorkerProcess
}

/** Bytes of a worker's stderr kept for its failure message. */
const STDERR_TAIL_BYTES = 4096

/** Child processes still running, killed when this process exits so no worker outlives its owner. */
const children = new Set<ChildProcess>()
let exitHookInstalled = false

function killChildrenOnExit(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL')
  })
}

/** A Node child process with an IPC channel; its stderr is passed through and its tail kept. */
export const nodeLauncher: WorkerLauncher = {
  launch(script) {
    killChildrenOnExit()
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] })
    children.add(child)
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk)
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES)
    })
    return {
      send: (message) => {
        if (child.connected) child.send(message)
      },
      onMessage: (listener) => child.on('message', (message) => listener(message as WorkerMessage)),
      // 'close', not 'exit': by then stderr is drained, so the tail holds the last words
      onExit: (listener) =>
        child.on('close', (code, signal) => {
          children.delete(child)
          listener({ code, signal, stderr })
        }),
      kill: () => {
        child.kill('SIGKILL')
      }
    }
  }
}
