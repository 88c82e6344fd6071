// The back end's half of the desktop app's secret cipher: the back end runs in a utility process,
// where Electron's safeStorage (the OS keychain) does not exist, so sealing and unsealing a DICOMweb
// password are asked of main over the parent port (main/electron/secret-cipher.ts answers).
import type { SecretCipher } from './secrets'

export const SAFE_STORAGE_CIPHER = 'electron-safeStorage'

export type SecretRequest = { type: 'secret-request'; id: number; op: 'encrypt' | 'decrypt'; text: string }
export type SecretReply =
  | { type: 'secret-reply'; id: number; ok: true; text: string }
  | { type: 'secret-reply'; id: number; ok: false; error: string }

export interface CipherPort {
  post(request: SecretRequest): void
  onReply(listener: (reply: SecretReply) => void): void
}

const REPLY_TIMEOUT_MS = 30_000

export function portCipher(port: CipherPort): SecretCipher {
  let nextId = 1
  const pending = new Map<number, (reply: SecretReply) => void>()
  port.onReply((reply) => {
    pending.get(reply.id)?.(reply)
    pending.delete(reply.id)
  })
  const ask = (op: 'encrypt' | 'decrypt', text: string) =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error('the OS keychain did not answer'))
      }, REPLY_TIMEOUT_MS)
      pending.set(id, (reply) => {
        clearTimeout(timer)
        if (reply.ok) resolve(reply.text)
        else reject(new Error(reply.error))
      })
      port.post({ type: 'secret-request', id, op, text })
    })
  return {
    name: SAFE_STORAGE_CIPHER,
    encrypt: (plain) => ask('encrypt', plain),
    decrypt: (sealed) => ask('decrypt', sealed)
  }
}
