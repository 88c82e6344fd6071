// The messages between a job and its worker process (Node child process or Electron utilityProcess).

/** Job → worker. `cancel` asks for a clean stop (a training step finishes and writes its checkpoint). */
export type WorkerCommand = { type: 'start'; params: unknown } | { type: 'cancel' }

/** Worker → job. */
export type WorkerMessage =
  | { type: 'progress'; progress: { stage: string; done: number; total: number } }
  | { type: 'event'; name: string; payload: unknown }
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string; userError: boolean }
