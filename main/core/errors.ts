/**
 * An error the user can fix (bad path, malformed file, wrong option). The CLI prints its message
 * in one line and exits 1; the UI shows it as-is. Messages name the file and the reason.
 */
export class UserError extends Error {
  override name = 'UserError'
}

/** A per-file problem, e.g. `train/…/65761e66de9f.dcm: unsupported transfer syntax 1.2.840.10008.1.2.4.100`. */
export class FileReadError extends UserError {
  constructor(
    readonly path: string,
    readonly reason: string
  ) {
    super(`${path}: ${reason}`)
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
