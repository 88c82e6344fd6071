// Main's half of the desktop app's secret cipher (main/backend/pacs/port-cipher.ts): seals and
// unseals DICOMweb passwords and tokens with Electron's safeStorage, i.e. the OS keychain (Keychain
// on macOS, DPAPI on Windows, the Secret Service or KWallet on Linux). Nothing else happens here.
import { safeStorage } from 'electron'
import type { SecretReply, SecretRequest } from '../backend/pacs/port-cipher'

export function isSecretRequest(message: { type?: unknown }): message is SecretRequest {
  return message.type === 'secret-request'
}

export function answerSecretRequest(request: SecretRequest): SecretReply {
  const { id } = request
  try {
    if (!safeStorage.isEncryptionAvailable())
      return { type: 'secret-reply', id, ok: false, error: 'the OS keychain is not available to CXR Studio' }
    const text =
      request.op === 'encrypt'
        ? safeStorage.encryptString(request.text).toString('base64')
        : safeStorage.decryptString(Buffer.from(request.text, 'base64'))
    return { type: 'secret-reply', id, ok: true, text }
  } catch (err) {
    return { type: 'secret-reply', id, ok: false, error: err instanceof Error ? err.message : String(err) }
  }
}
