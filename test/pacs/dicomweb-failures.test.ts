// What goes wrong with a PACS, against loopback servers that misbehave on purpose: each failure is
// one error naming the URL and the reason, never the secret, and a study that did not arrive whole
// is never marked complete, never placed where openDataset looks, and is listed as incomplete.
import { createServer as createTcpServer } from 'node:net'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDataset } from '../../main/core/dataset'
import { cachedStudies, partialStudyDir, studyDir } from '../../main/core/dicomweb/cache'
import { DicomwebClient } from '../../main/core/dicomweb/client'
import { networkReason } from '../../main/core/dicomweb/http'
import { retrieveStudies } from '../../main/core/dicomweb/retrieve'
import {
  fakePacs,
  instance,
  multipartBody,
  multipartHead,
  MULTIPART_TYPE,
  studyJson,
  type FakePacs
} from './fake-pacs'
import { freePort } from './orthanc'

const STUDY = '1.2.826.0.1.3680043.8.498.1'
const SERIES = '1.2.826.0.1.3680043.8.498.1.1'
const TOKEN = 'tok-3f9a1c0d5e7b'

let dir: string
let server: FakePacs | null = null
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cxr-pacs-fail-'))
})
afterEach(async () => {
  await server?.close()
  server = null
  await rm(dir, { recursive: true, force: true })
})

async function allFiles(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true })).map(String)
}

describe('auth', () => {
  it('sends the bearer token in the Authorization header and nowhere else', async () => {
    server = await fakePacs((req, res) => {
      const ok = req.headers.authorization === `Bearer ${TOKEN}`
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/dicom+json' })
      res.end(ok ? studyJson(STUDY, 1) : '[]')
    })
    const client = new DicomwebClient({ url: server.url, auth: { kind: 'bearer', token: TOKEN } })
    const rows = await client.searchStudies({ patientName: 'FAKE^*' })
    expect(rows).toEqual([
      expect.objectContaining({ studyUid: STUDY, patientName: 'FAKE^PATIENT', instances: 1 })
    ])
    expect(server.requests[0].headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(server.requests[0].url).not.toContain(TOKEN)
    // QIDO-RS wildcards and PN carets travel as they are (Orthanc does not decode %5E)
    expect(server.requests[0].url).toContain('PatientName=FAKE^*')
  })

  it('a rejected token is HTTP 401 with a hint, and a server that echoes the header never shows the token', async () => {
    server = await fakePacs((req, res) => {
      res.writeHead(401, { 'content-type': 'text/plain' })
      res.end(`denied: you sent ${req.headers.authorization}`)
    })
    const client = new DicomwebClient({ url: server.url, auth: { kind: 'bearer', token: TOKEN } })
    const error = (await client.searchStudies({}).catch((err: Error) => err)) as Error
    expect(error.message).toMatch(
      new RegExp(`^${server.url}/studies\\?.*: HTTP 401 Unauthorized \\(wrong or missing`)
    )
    expect(error.message).toContain('denied: you sent Bearer ***')
    expect(error.message).not.toContain(TOKEN)
  })
})

describe('server and network failures', () => {
  it('an HTTP 500 says so with the server’s text, clipped', async () => {
    server = await fakePacs((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`database exploded ${'x'.repeat(2000)}`)
    })
    const error = (await new DicomwebClient({ url: server.url })
      .searchStudies({})
      .catch((e: Error) => e)) as Error
    expect(error.message).toMatch(/: HTTP 500 Internal Server Error: database exploded x+…$/)
    expect(error.message.length).toBeLessThan(server.url.length + 500)
  })

  it('a server that never answers is a timeout naming the URL', async () => {
    server = await fakePacs(() => undefined)
    const client = new DicomwebClient({ url: server.url, timeoutMs: 300 })
    const started = Date.now()
    await expect(client.searchStudies({})).rejects.toThrow(
      new RegExp(`^${server.url}/studies\\?\\S+: no answer within 0\\.3 s \\(timeout\\)$`)
    )
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('a refused connection says so', async () => {
    const port = await freePort()
    const client = new DicomwebClient({ url: `http://127.0.0.1:${port}/dicom-web` })
    await expect(client.searchStudies({})).rejects.toThrow(
      `http://127.0.0.1:${port}/dicom-web/studies?includefield=00081030&includefield=00080061&includefield=00201206&includefield=00201208&includefield=00080050: connection refused (is the server running, and is the port right?)`
    )
  })

  it('https to a server that speaks plain http is a TLS failure, said as such', async () => {
    server = await fakePacs((_req, res) => void res.end('[]'))
    const client = new DicomwebClient({ url: server.url.replace('http:', 'https:'), timeoutMs: 5000 })
    await expect(client.searchStudies({})).rejects.toThrow(
      /https:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies\?\S+: TLS/
    )
  })

  it('a connection that is closed without an answer says so', async () => {
    const tcp = createTcpServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
    const { port } = tcp.address() as { port: number }
    try {
      await expect(new DicomwebClient({ url: `http://127.0.0.1:${port}` }).searchStudies({})).rejects.toThrow(
        /^http:\/\/127\.0\.0\.1:\d+\/studies\?\S+: (the server closed the connection|the connection broke)/
      )
    } finally {
      tcp.close()
    }
  })

  it('a search answered with a web page (a login page, a wrong root) says what came instead', async () => {
    server = await fakePacs((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end('<html>Sign in</html>')
    })
    await expect(new DicomwebClient({ url: server.url }).searchStudies({})).rejects.toThrow(
      new RegExp(
        `^${server.url}/studies\\?\\S+: expected DICOM JSON, got text/html; charset=utf-8 \\(is this a DICOMweb root\\?\\)$`
      )
    )
  })

  it('a retrieve answered with something else than multipart DICOM is refused, nothing written', async () => {
    server = await fakePacs((req, res) => {
      if (req.url?.startsWith('/dicom-web/studies?')) {
        res.writeHead(200, { 'content-type': 'application/dicom+json' })
        return void res.end(studyJson(STUDY, 1))
      }
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<html>please log in</html>')
    })
    const result = await retrieveStudies(new DicomwebClient({ url: server.url }), dir, [STUDY])
    expect(result.studies[0]).toMatchObject({ state: 'incomplete', received: 0 })
    expect(result.studies[0].error).toBe(
      `${server.url}/studies/${STUDY}: expected multipart/related DICOM instances, got text/html`
    )
    expect((await allFiles(dir)).filter((f) => f.endsWith('.dcm'))).toEqual([])
  })
})

describe('a study that does not arrive whole', () => {
  async function twoInstances() {
    return [await instance(STUDY, SERIES, `${SERIES}.1`), await instance(STUDY, SERIES, `${SERIES}.2`)]
  }

  it('a stream cut in the middle of the second instance leaves the study unmarked, in staging, listed incomplete', async () => {
    const files = await twoInstances()
    server = await fakePacs((req, res) => {
      if (req.url?.startsWith('/dicom-web/studies?')) {
        res.writeHead(200, { 'content-type': 'application/dicom+json' })
        return void res.end(studyJson(STUDY, 2))
      }
      res.writeHead(200, { 'content-type': MULTIPART_TYPE })
      const whole = multipartBody(files)
      // the first instance and half the second, then the connection drops
      res.write(
        whole.subarray(0, multipartHead(files[0]).length + files[0].length + 2 + 100 + files[1].length / 2)
      )
      setTimeout(() => res.socket?.destroy(), 50)
    })
    const result = await retrieveStudies(new DicomwebClient({ url: server.url }), dir, [STUDY])
    expect(result.studies[0]).toMatchObject({
      studyUid: STUDY,
      state: 'incomplete',
      expected: 2,
      received: 1
    })
    expect(result.studies[0].error).toMatch(
      new RegExp(
        `^${server.url}/studies/${STUDY}: (the connection broke|the server closed the connection|terminated|the response ended in the middle of part 2)`
      )
    )
    // the whole first instance is kept for a resume; no half file, no marker, nothing under test/
    expect((await allFiles(partialStudyDir(dir, STUDY))).sort()).toEqual([
      SERIES,
      `${SERIES}/${SERIES}.1.dcm`
    ])
    expect(await readdir(studyDir(dir, STUDY)).catch(() => null)).toBeNull()
    expect(await cachedStudies(dir)).toEqual([
      { studyUid: STUDY, state: 'incomplete', expected: null, received: 1, completedAt: null }
    ])
    // and openDataset opens no image of it, but says the folder is not whole
    const dataset = await openDataset(dir)
    expect(dataset.images).toEqual([])
    expect(dataset.fileErrors).toEqual([
      {
        path: `.partial/${STUDY}`,
        reason:
          'study retrieved incompletely from a DICOMweb server (1 instance(s) so far), not opened: pull or retrieve it again to complete it'
      }
    ])
  })

  it('a server that stops sending in the middle times out, the study unmarked', async () => {
    const files = await twoInstances()
    server = await fakePacs((req, res) => {
      if (req.url?.startsWith('/dicom-web/studies?')) {
        res.writeHead(200, { 'content-type': 'application/dicom+json' })
        return void res.end(studyJson(STUDY, 2))
      }
      res.writeHead(200, { 'content-type': MULTIPART_TYPE })
      res.write(multipartBody(files).subarray(0, 3000))
    })
    const result = await retrieveStudies(new DicomwebClient({ url: server.url, timeoutMs: 400 }), dir, [
      STUDY
    ])
    expect(result.studies[0]).toMatchObject({ state: 'incomplete', received: 0 })
    expect(result.studies[0].error).toBe(`${server.url}/studies/${STUDY}: no answer within 0.4 s (timeout)`)
    expect((await allFiles(dir)).filter((f) => f.endsWith('.tmp') || f.endsWith('.dcm'))).toEqual([])
  })

  it('the server reporting more instances than it sends is incomplete, not complete', async () => {
    const files = await twoInstances()
    server = await fakePacs((req, res) => {
      if (req.url?.startsWith('/dicom-web/studies?')) {
        res.writeHead(200, { 'content-type': 'application/dicom+json' })
        return void res.end(studyJson(STUDY, 3))
      }
      res.writeHead(200, { 'content-type': MULTIPART_TYPE })
      res.end(multipartBody(files))
    })
    const result = await retrieveStudies(new DicomwebClient({ url: server.url }), dir, [STUDY])
    expect(result.studies[0]).toMatchObject({ state: 'incomplete', expected: 3, received: 2 })
    expect(result.studies[0].error).toContain('the server reported 3 instance(s) and sent 2')
  })

  it('a temp file a killed pull left in staging is removed by the next retrieve; a live one is kept', async () => {
    const files = await twoInstances()
    server = await fakePacs((req, res) => {
      if (req.url?.startsWith('/dicom-web/studies?')) {
        res.writeHead(200, { 'content-type': 'application/dicom+json' })
        return void res.end(studyJson(STUDY, 2))
      }
      res.writeHead(200, { 'content-type': MULTIPART_TYPE })
      res.end(multipartBody(files))
    })
    const staging = partialStudyDir(dir, STUDY)
    await mkdir(staging, { recursive: true })
    // pid 2^22+1 is above Linux's pid_max: no process holds it
    const dead = `.instance-1.${2 ** 22 + 1}-0123456789ab.tmp`
    const live = `.instance-1.${process.pid}-0123456789ab.tmp`
    await writeFile(join(staging, dead), 'half an instance')
    await writeFile(join(dir, live), 'being written')
    const result = await retrieveStudies(new DicomwebClient({ url: server.url }), dir, [STUDY])
    expect(result.studies[0].state).toBe('complete')
    const left = await allFiles(dir)
    expect(left.some((f) => f.endsWith(dead))).toBe(false)
    expect(left).toContain(live)
  })

  it('cancel stops the transfer at once, the study stays unmarked, and the next retrieve completes it', async () => {
    const files = await twoInstances()
    let slow = true
    server = await fakePacs((req, res) => {
      if (req.url?.startsWith('/dicom-web/studies?')) {
        res.writeHead(200, { 'content-type': 'application/dicom+json' })
        return void res.end(studyJson(STUDY, 2))
      }
      if (req.url?.includes('/series?')) {
        res.writeHead(200, { 'content-type': 'application/dicom+json' })
        return void res.end(
          JSON.stringify([
            { '0020000E': { vr: 'UI', Value: [SERIES] }, '00201209': { vr: 'IS', Value: [2] } }
          ])
        )
      }
      res.writeHead(200, { 'content-type': MULTIPART_TYPE })
      const body = multipartBody(files)
      if (!slow) return void res.end(body)
      // the first instance whole, then a trickle
      const first = multipartHead(files[0]).length + files[0].length + 2
      res.write(body.subarray(0, first + multipartHead(files[1]).length + 10))
    })
    const controller = new AbortController()
    const progress: number[] = []
    const started = Date.now()
    const pending = retrieveStudies(new DicomwebClient({ url: server.url }), dir, [STUDY], {
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p.done)
        if (p.done === 1) controller.abort()
      }
    })
    await expect(pending).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(5000)
    expect(await cachedStudies(dir)).toEqual([
      expect.objectContaining({ studyUid: STUDY, state: 'incomplete', received: 1 })
    ])
    expect((await allFiles(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([])

    slow = false
    const resumed = await retrieveStudies(new DicomwebClient({ url: server.url }), dir, [STUDY])
    expect(resumed.studies[0]).toMatchObject({ state: 'complete', expected: 2, received: 2 })
    expect(server.requests.some((r) => r.url === `/dicom-web/studies/${STUDY}/series/${SERIES}`)).toBe(true)
    const dataset = await openDataset(dir)
    expect(dataset.images.map((i) => i.imageId).sort()).toEqual([`${SERIES}.1`, `${SERIES}.2`])
    expect(dataset.fileErrors).toEqual([])
  })
})

describe('network reasons', () => {
  // a real DNS failure would send a query off this machine: the mapping is checked on the error
  // shape Node's fetch gives (TypeError "fetch failed" with the system error as its cause)
  it('names an unknown host, a TLS certificate problem and an unexpected code', () => {
    const failed = (cause: object) => new TypeError('fetch failed', { cause })
    expect(networkReason(failed({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND pacs.example' }))).toBe(
      'unknown host (DNS lookup failed)'
    )
    expect(networkReason(failed({ code: 'CERT_HAS_EXPIRED' }))).toBe(
      'TLS: the server’s certificate has expired'
    )
    expect(networkReason(failed({ code: 'ERR_TLS_CERT_SOMETHING_NEW' }))).toBe(
      'TLS: ERR_TLS_CERT_SOMETHING_NEW'
    )
    expect(networkReason(failed({ cause: { code: 'ECONNREFUSED' } }))).toBe(
      'connection refused (is the server running, and is the port right?)'
    )
    expect(networkReason(failed({ code: 'EWEIRD', message: 'something odd' }))).toBe('EWEIRD: something odd')
  })
})
