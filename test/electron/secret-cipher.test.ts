// The desktop app's DICOMweb secrets: sealed by Electron's safeStorage (the OS keychain) in main, asked
// for by the back-end utility process over its port. A fake safeStorage stands in for the keychain.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { portCipher, type SecretReply, type SecretRequest } from '../../main/backend/pacs/port-cipher'
import { FileSecretStore } from '../../main/backend/pacs/secrets'
import { fake } from './fake-electron'

const keychain = vi.hoisted(() => ({
  available: true,
  /** A reversible stand-in for the OS keychain: XOR with a key main never shows. */
  seal: (text: string) => Buffer.from(Buffer.from(`sealed:${text}`).map((b) => b ^ 0x5a)),
  unseal: (bytes: Buffer) => {
    const text = Buffer.from(bytes.map((b) => b ^ 0x5a)).toString()
    if (!text.startsWith('sealed:'))
      throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.')
    return text.slice('sealed:'.length)
  }
}))

vi.mock('electron', async () => ({
  ...(await import('./fake-electron')).electron,
  safeStorage: {
    isEncryptionAvailable: () => keychain.available,
    encryptString: (text: string) => keychain.seal(text),
    decryptString: (bytes: Buffer) => keychain.unseal(bytes)
  }
}))

const { answerSecretRequest } = await import('../../main/electron/secret-cipher')
const { startBackend } = await import('../../main/electron/backend-client')

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cxr-secret-cipher-'))
  keychain.available = true
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The back end's cipher talking straight to main's answer, as the two ports do. */
function directCipher() {
  let listener: ((reply: SecretReply) => void) | null = null
  return portCipher({
    post: (request: SecretRequest) => setImmediate(() => listener?.(answerSecretRequest(request))),
    onReply: (l) => (listener = l)
  })
}

describe('secrets sealed by the OS keychain', () => {
  it('stores a password sealed (never in clear in the file, 0600) and reads it back', async () => {
    const path = join(dir, 'pacs', 'credentials.json')
    const store = new FileSecretStore(path, directCipher())
    await store.set('orthanc', 'hunter2-password')
    const text = await readFile(path, 'utf8')
    expect(text).not.toContain('hunter2-password')
    expect(JSON.parse(text).secrets.orthanc.cipher).toBe('electron-safeStorage')
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await store.get('orthanc')).toBe('hunter2-password')
    expect(await store.has('orthanc')).toBe(true)
  })

  it('the web host cannot read a secret the desktop app sealed, and says to enter it again', async () => {
    const path = join(dir, 'credentials.json')
    await new FileSecretStore(path, directCipher()).set('orthanc', 'hunter2-password')
    await expect(new FileSecretStore(path).get('orthanc')).rejects.toThrow(
      'the secret of server orthanc was stored by the desktop app (electron-safeStorage) and cannot be read here: enter the password or token again'
    )
  })

  it('no keychain: saving says so instead of writing the secret in clear', async () => {
    keychain.available = false
    const path = join(dir, 'credentials.json')
    await expect(
      new FileSecretStore(path, directCipher()).set('orthanc', 'hunter2-password')
    ).rejects.toThrow('the OS keychain is not available to CXR Studio')
    expect(await stat(path).catch(() => null)).toBeNull()
  })

  it('a value the keychain cannot unseal is a clear error without the value', async () => {
    const reply = answerSecretRequest({
      type: 'secret-request',
      id: 3,
      op: 'decrypt',
      text: Buffer.from('garbage').toString('base64')
    })
    expect(reply).toEqual({
      type: 'secret-reply',
      id: 3,
      ok: false,
      error: 'Error while decrypting the ciphertext provided to safeStorage.decryptString.'
    })
  })

  it('main answers the back-end process’s secret requests on its port', async () => {
    const client = startBackend('/app/out/node/backend-process.js', {})
    try {
      const child = fake.children.at(-1)!
      const before = child.messages.length
      child.emit('message', { type: 'secret-request', id: 11, op: 'encrypt', text: 'tok-123' })
      const reply = child.messages.at(-1) as SecretReply
      expect(child.messages.length).toBe(before + 1)
      expect(reply).toMatchObject({ type: 'secret-reply', id: 11, ok: true })
      expect(reply.ok && keychain.unseal(Buffer.from(reply.text, 'base64'))).toBe('tok-123')
      expect(JSON.stringify(reply)).not.toContain('tok-123')
    } finally {
      client.stop()
    }
  })
})
