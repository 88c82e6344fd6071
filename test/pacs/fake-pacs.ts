// Tiny loopback HTTP servers that misbehave on purpose (Orthanc does not): a bearer-token check, a
// server that never answers, one that cuts a multipart response, one that stalls in the middle.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { writeDicom } from '../../main/core/dicom/write'

export interface FakePacs {
  url: string
  requests: Array<{ url: string; headers: IncomingMessage['headers'] }>
  close(): Promise<void>
}

export async function fakePacs(
  handle: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>
): Promise<FakePacs> {
  const requests: FakePacs['requests'] = []
  const sockets = new Set<import('node:net').Socket>()
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers })
    void handle(req, res)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/dicom-web`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

/** A small valid DICOM instance of `studyUid` (64x64, 16-bit). */
export async function instance(studyUid: string, seriesUid: string, sopUid: string): Promise<Buffer> {
  const pixels = new Uint16Array(64 * 64).map((_, i) => (i * 37) % 4096)
  return Buffer.from(
    await writeDicom(
      {
        rows: 64,
        columns: 64,
        bitsAllocated: 16,
        bitsStored: 12,
        pixelRepresentation: 0,
        photometric: 'MONOCHROME2',
        pixels,
        studyInstanceUid: studyUid,
        seriesInstanceUid: seriesUid,
        sopInstanceUid: sopUid,
        modality: 'DX'
      },
      'explicit-le'
    )
  )
}

export const BOUNDARY = 'fake-boundary-42'

export function multipartHead(instance: Buffer): Buffer {
  return Buffer.from(
    `--${BOUNDARY}\r\nContent-Type: application/dicom\r\nContent-Length: ${instance.length}\r\n\r\n`
  )
}

export function multipartBody(instances: Buffer[]): Buffer {
  return Buffer.concat([
    ...instances.flatMap((i) => [multipartHead(i), i, Buffer.from('\r\n')]),
    Buffer.from(`--${BOUNDARY}--\r\n`)
  ])
}

export const MULTIPART_TYPE = `multipart/related; type="application/dicom"; boundary="${BOUNDARY}"`

/** QIDO-RS answer for one study with `instances` instances. */
export function studyJson(studyUid: string, instances: number): string {
  return JSON.stringify([
    {
      '0020000D': { vr: 'UI', Value: [studyUid] },
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'FAKE^PATIENT' }] },
      '00201208': { vr: 'IS', Value: [instances] }
    }
  ])
}
