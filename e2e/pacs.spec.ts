// Opening a study from a PACS, the way a user does it: a private Orthanc with its DICOMweb plugin
// (test/pacs/orthanc.ts: loopback, basic auth, a 5-study demo uploaded) is added from the Home page's
// "Connect to PACS", checked, searched by patient ID (Enter), one study retrieved with its progress
// reaching the end, opened like a folder: the study UID in the list and the image on the canvas.
// Then a wrong password gives the clear error (the URL and HTTP 401, never the password). Orthanc
// is stopped with its whole process group after the file.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { Socket } from 'node:net'
import type { Page } from '@playwright/test'
import {
  ORTHANC_PASSWORD,
  ORTHANC_USER,
  orthancAvailable,
  startOrthanc,
  type OrthancFixture
} from '../test/pacs/orthanc'
import { formatBytes } from '../renderer/src/pacs/pacs-form'
import { expect, skipElectronWithoutBinary, test as studioTest } from './fixtures'
import { nextFrames, readCanvas } from './harness'

skipElectronWithoutBinary()

const ORTHANC_APT = 'apt-get install -y --no-install-recommends orthanc orthanc-dicomweb'

const test = studioTest.extend<object, { orthanc: OrthancFixture }>({
  orthanc: [
    async ({}, use) => {
      if (!orthancAvailable())
        throw new Error(`Orthanc with its DICOMweb plugin is not installed; as root: ${ORTHANC_APT}`)
      const orthanc = await startOrthanc()
      try {
        await use(orthanc)
      } finally {
        await orthanc.stop()
      }
      // stopped for good: nothing answers on its port any more
      const answered = await fetch(`${orthanc.rest}/system`).then(
        () => true,
        () => false
      )
      if (answered) throw new Error(`Orthanc still answers on ${orthanc.rest} after the run`)
    },
    { scope: 'worker', timeout: 120_000 }
  ]
})

async function addServer(page: Page, url: string, name = 'Test Orthanc'): Promise<void> {
  await page.getByTestId('pacs-name').fill(name)
  await page.getByTestId('pacs-url').fill(url)
  await page.getByTestId('pacs-auth').selectOption('basic')
  await page.getByTestId('pacs-user').fill(ORTHANC_USER)
  await page.getByTestId('pacs-secret').fill(ORTHANC_PASSWORD)
}

interface SlowProxy {
  /** The DICOMweb root through the proxy. */
  dicomweb: string
  /** When true, requests get no answer at all (a server that hangs). */
  hang: boolean
  close(): Promise<void>
}

/**
 * A loopback proxy in front of Orthanc that sends WADO-RS bodies (multipart/related) at about
 * 64 KB/s, so a retrieve lasts long enough to be watched and cancelled, and that can hang.
 */
async function slowProxy(orthanc: OrthancFixture): Promise<SlowProxy> {
  const sockets = new Set<Socket>()
  const state = { hang: false }
  const server: Server = createServer((req, res) => {
    if (state.hang) return // never answers
    const upstream = httpRequest(
      { host: '127.0.0.1', port: orthanc.port, path: req.url, method: req.method, headers: req.headers },
      async (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        const slow = String(answer.headers['content-type']).startsWith('multipart/related')
        for await (const chunk of answer as AsyncIterable<Buffer>) {
          for (let at = 0; at < chunk.length; at += 8192) {
            if (res.destroyed) return answer.destroy()
            res.write(chunk.subarray(at, at + 8192))
            if (slow) await new Promise((resolve) => setTimeout(resolve, 125))
          }
        }
        res.end()
      }
    )
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    dicomweb: `http://127.0.0.1:${port}/dicom-web`,
    get hang() {
      return state.hang
    },
    set hang(value: boolean) {
      state.hang = value
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

/** Non-background pixels of the viewer canvas: the image is drawn, not a black or empty canvas. */
async function drawnPixels(page: Page): Promise<{ lit: number; levels: number }> {
  const canvas = await readCanvas(page)
  let lit = 0
  const levels = new Set<number>()
  for (let i = 0; i < canvas.rgba.length; i += 4) {
    const grey = canvas.rgba[i]
    if (grey > 10) lit++
    levels.add(grey)
  }
  return { lit, levels: levels.size }
}

test('a study from Orthanc: add the server, search by patient ID, retrieve with progress, open it in the viewer; a wrong password is a clear error', async ({
  studio,
  orthanc
}) => {
  const { page } = studio
  await expect(page.getByTestId('home-pacs')).toBeVisible()
  await studio.snap('home')
  await page.getByTestId('home-pacs').click()
  await expect(page.getByRole('heading', { name: 'PACS' })).toBeVisible()

  // the server: tested before saving, then saved; the password field never shows it again
  await addServer(page, orthanc.dicomweb)
  await page.getByTestId('pacs-test').click()
  const testResult = page.getByTestId('pacs-test-result')
  await expect(testResult).toHaveAttribute('data-state', 'ok')
  await expect(testResult).toContainText(`${orthanc.dicomweb} answered QIDO-RS in`)
  await page.getByTestId('pacs-save').click()
  await expect(page.getByTestId('pacs-server')).toHaveCount(1)
  await expect(page.getByTestId('pacs-server')).toContainText('Test Orthanc')
  await expect(page.getByTestId('pacs-secret')).toHaveValue('')
  await expect(page.getByTestId('pacs-secret')).toHaveAttribute('placeholder', /stored/)
  expect(await page.content()).not.toContain(ORTHANC_PASSWORD)

  // search by patient ID with Enter: exactly the studies of that patient, none cached yet
  const [studyUid, study] = [...orthanc.studies.entries()][1]
  const samePatient = [...orthanc.studies.entries()]
    .filter(([, s]) => s.patientId === study.patientId)
    .map(([uid]) => uid)
  await page.getByTestId('pacs-q-patient-id').fill(study.patientId)
  await page.getByTestId('pacs-q-patient-id').press('Enter')
  const rows = page.getByTestId('pacs-row')
  await expect(rows).toHaveCount(samePatient.length)
  expect(
    (await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-study-uid')))).sort()
  ).toEqual(samePatient.sort())
  const row = page.locator(`[data-testid=pacs-row][data-study-uid="${studyUid}"]`)
  await expect(row).toHaveAttribute('data-cached', 'none')
  await expect(row).toContainText(study.accession)
  await studio.snap('search-results')

  // retrieve it: progress reaches every instance of the study, then the row says cached
  const instances = orthanc.instances.filter((i) => i.studyUid === studyUid)
  const bytes = instances.reduce((n, i) => n + i.bytes, 0)
  // with a study-level label CSV whose ids are the study UIDs: the opened folder has the label
  const studyLabels = test.info().outputPath('study_labels.csv')
  writeFileSync(
    studyLabels,
    `id,Negative for Pneumonia,Typical Appearance,Indeterminate Appearance,Atypical Appearance\n${studyUid}_study,0,0,1,0\n`
  )
  await row.click()
  await page.getByTestId('pacs-study-labels').fill(studyLabels)
  await page.getByTestId('pacs-retrieve').click()
  await expect(page.getByTestId('pacs-retrieve-progress')).toHaveAttribute('data-state', 'done', {
    timeout: 60_000
  })
  await expect(page.getByTestId('pacs-retrieve-bytes')).toContainText(
    `${instances.length} / ${instances.length} instances`
  )
  // the bytes are the uploaded files' (WADO-RS with transfer-syntax=* serves them as stored)
  await expect(page.getByTestId('pacs-retrieve-bytes')).toContainText(formatBytes(bytes))
  await expect(row).toHaveAttribute('data-cached', 'complete')
  await expect(page.getByTestId('pacs-cached')).toContainText('1 study complete')
  await expect(page.getByTestId('pacs-cached')).toContainText('labels: train_study_level.csv')
  await studio.snap('retrieved')

  // open: the pulled folder is a dataset; its study is in the list and its image on the canvas
  await page.getByTestId('pacs-open').click()
  await expect(page.getByTestId('studies-summary')).toBeVisible()
  const imageRows = page.getByTestId('image-row')
  await expect(imageRows).toHaveCount(instances.length)
  await expect(imageRows.first()).toContainText(studyUid)
  await expect(imageRows.first()).toContainText('test · indeterminate')
  const imageId = instances[0].sopUid
  await page.locator(`[data-testid=image-row][data-image-id="${imageId}"]`).click()
  await expect(page.getByTestId('corner-tl')).toContainText(imageId)
  await expect(page.getByTestId('shown-ms')).toBeVisible()
  await nextFrames(page)
  const drawn = await drawnPixels(page)
  expect(drawn.lit).toBeGreaterThan(10_000)
  expect(drawn.levels).toBeGreaterThan(32)
  await studio.snap('viewer')

  // a wrong password: the connection check and the search say which URL refused and why
  await page.getByTestId('nav-pacs').click()
  await page.getByTestId('pacs-secret').fill('wrong-pw-4711')
  await page.getByTestId('pacs-test').click()
  await expect(testResult).toHaveAttribute('data-state', 'failed')
  await expect(testResult).toContainText(orthanc.dicomweb)
  await expect(testResult).toContainText('HTTP 401')
  await page.getByTestId('pacs-save').click()
  await expect(page.getByTestId('pacs-secret')).toHaveValue('')
  await page.getByTestId('pacs-q-patient-id').fill(study.patientId)
  await page.getByTestId('pacs-q-patient-id').press('Enter')
  const searchError = page.getByTestId('pacs-search-error')
  await expect(searchError).toContainText(`${orthanc.dicomweb}/studies?`)
  await expect(searchError).toContainText('HTTP 401')
  await expect(searchError).not.toContainText('wrong-pw-4711')
  await studio.snap('wrong-password')
})

test('a slow retrieve shows its progress and is cancelled: the study stays partial and is never opened as complete; a server that hangs times out with the URL', async ({
  studio,
  orthanc,
  demo
}) => {
  const { page } = studio
  const proxy = await slowProxy(orthanc)
  try {
    await page.getByTestId('nav-pacs').click()
    await expect(page.getByTestId('pacs-server')).not.toHaveCount(0)
    await page.getByTestId('pacs-new-server').click()
    await expect(page.getByTestId('pacs-name')).toHaveValue('')
    await addServer(page, proxy.dicomweb, 'Slow Orthanc')
    await page.getByTestId('pacs-timeout').fill('2')
    await page.getByTestId('pacs-save').click()
    await expect(page.locator('[data-testid=pacs-server].on')).toContainText('Slow Orthanc')
    await expect(page.getByTestId('pacs-server')).toHaveCount(2)

    // the largest study: several instances at 64 KB/s
    const perStudy = new Map<string, number>()
    for (const instance of orthanc.instances)
      perStudy.set(instance.studyUid, (perStudy.get(instance.studyUid) ?? 0) + instance.bytes)
    const [studyUid] = [...perStudy.entries()].sort((a, b) => b[1] - a[1])[0]
    const study = orthanc.studies.get(studyUid)!
    const instances = orthanc.instances.filter((i) => i.studyUid === studyUid).length
    await page.getByTestId('pacs-q-accession').fill(study.accession)
    await page.getByTestId('pacs-q-accession').press('Enter')
    const row = page.locator(`[data-testid=pacs-row][data-study-uid="${studyUid}"]`)
    await expect(row).toHaveAttribute('data-cached', 'none')
    await row.click()
    await page.getByTestId('pacs-retrieve').click()

    // running: the bar, instances and bytes move; then Cancel
    const progress = page.getByTestId('pacs-retrieve-progress')
    await expect(progress).toHaveAttribute('data-state', 'running')
    await expect(page.getByTestId('pacs-retrieve-bytes')).toContainText(`/ ${instances} instances`)
    await expect(page.getByTestId('pacs-retrieve-bytes')).toContainText(/[1-9][\d.]* (KB|MB)/)
    await expect(page.locator('[data-testid=pacs-retrieve-progress] progress')).toBeVisible()
    await studio.snap('retrieving')
    // a reload finds the running retrieve again
    await page.reload()
    await expect(progress).toHaveAttribute('data-state', 'running')
    await expect(page.getByTestId('pacs-retrieve-bytes')).toContainText(`/ ${instances} instances`)
    await page.getByTestId('pacs-retrieve-cancel').click()
    await expect(progress).toHaveAttribute('data-state', 'cancelled')
    await expect(page.getByTestId('pacs-open')).toHaveCount(0)
    // the reload emptied the search: the same search again
    await page.getByTestId('pacs-q-accession').fill(study.accession)
    await page.getByTestId('pacs-q-accession').press('Enter')
    // partial: not cached as complete, and the pulled folder cannot be opened with nothing complete in it
    await expect(row).toHaveAttribute('data-cached', 'incomplete')
    await expect(row.getByTestId('pacs-row-cached')).toContainText('partial')
    const cached = page.getByTestId('pacs-cached')
    await expect(cached).toContainText('1 study partial')
    await expect(cached).toContainText('0 studies complete')
    await expect(cached.getByTestId('pacs-cached-open')).toBeDisabled()
    await studio.snap('cancelled')

    // a server that never answers: the retrieve (resuming the partial study) and the search fail,
    // saying which URL and that it timed out; the study stays partial
    proxy.hang = true
    await row.click()
    await expect(row).toHaveClass(/on/)
    await page.getByTestId('pacs-retrieve').click()
    await expect(progress).toHaveAttribute('data-state', 'failed')
    const retrieveState = page.getByTestId('pacs-retrieve-state')
    await expect(retrieveState).toContainText(`failed: ${proxy.dicomweb}/studies`)
    await expect(retrieveState).toContainText('no answer within 2 s (timeout)')
    await expect(page.getByTestId('pacs-open')).toHaveCount(0)
    await expect(cached).toContainText('1 study partial')
    await page.getByTestId('pacs-q-accession').press('Enter')
    const searchError = page.getByTestId('pacs-search-error')
    await expect(searchError).toContainText(`${proxy.dicomweb}/studies?`)
    await expect(searchError).toContainText('no answer within 2 s (timeout)')
    await studio.snap('timeout')

    // forgetting the server: gone from the list, its secret with it (the other server's stays)
    await page.getByTestId('pacs-delete').click()
    await page.getByTestId('pacs-delete-confirm').click()
    await expect(page.getByTestId('pacs-server')).toHaveCount(1)
    await expect(page.getByTestId('pacs-server')).toContainText('Test Orthanc')
    const credentials = JSON.parse(
      readFileSync(join(demo.workspace, 'pacs', 'credentials.json'), 'utf8')
    ) as { secrets: Record<string, unknown> }
    expect(Object.keys(credentials.secrets)).toEqual(['test-orthanc'])
  } finally {
    await proxy.close()
  }
})
