import { describe, expect, it } from 'vitest'
import {
  cacheLabel,
  emptySearchForm,
  emptyServerForm,
  formatBytes,
  searchQuery,
  serverDraft,
  serverFormOf,
  showDate,
  showName
} from '../../renderer/src/pacs/pacs-form'

describe('the PACS view server form', () => {
  it('makes a basic-auth draft with the typed password and the timeout', () => {
    const form = {
      ...emptyServerForm(),
      name: ' Orthanc ',
      url: ' http://127.0.0.1:8042/dicom-web ',
      auth: 'basic' as const,
      user: 'alice',
      secret: 's3cret',
      timeoutSeconds: '20'
    }
    expect(serverDraft(form)).toEqual({
      draft: {
        name: 'Orthanc',
        url: 'http://127.0.0.1:8042/dicom-web',
        auth: { kind: 'basic', user: 'alice', password: 's3cret' },
        timeoutSeconds: 20
      },
      errors: null
    })
  })

  it('a new server with auth needs its secret; a saved one keeps the stored secret when the field is empty', () => {
    const bearer = {
      ...emptyServerForm(),
      name: 'Cloud',
      url: 'https://pacs.example/dw',
      auth: 'bearer' as const
    }
    expect(serverDraft(bearer).errors).toEqual({ secret: 'paste the token' })
    const saved = serverDraft({ ...bearer, id: 'cloud' }, true)
    expect(saved.draft).toEqual({
      id: 'cloud',
      name: 'Cloud',
      url: 'https://pacs.example/dw',
      auth: { kind: 'bearer' },
      timeoutSeconds: 30
    })
  })

  it('names the field of each problem: URL with credentials, no user, bad timeout, no name', () => {
    const form = {
      ...emptyServerForm(),
      url: 'http://bob:pw@pacs/dicom-web',
      auth: 'basic' as const,
      secret: 'x',
      timeoutSeconds: '0'
    }
    const { errors } = serverDraft(form)
    expect(errors).toEqual({
      name: 'name the server',
      url: 'put the user name and password in the auth fields, not the URL',
      user: 'type the user name',
      timeoutSeconds: 'seconds between 1 and 3600'
    })
    expect(serverDraft({ ...emptyServerForm(), name: 'x', url: 'pacs.example' }).errors).toEqual({
      url: 'type an http:// or https:// URL'
    })
  })

  it('a saved server fills the form without any secret', () => {
    expect(
      serverFormOf({
        id: 'o',
        name: 'O',
        url: 'http://o/dw',
        auth: 'basic',
        user: 'u',
        hasSecret: true,
        timeoutSeconds: 30,
        cacheDir: '/w/pacs/o'
      })
    ).toEqual({
      id: 'o',
      name: 'O',
      url: 'http://o/dw',
      auth: 'basic',
      user: 'u',
      secret: '',
      timeoutSeconds: '30'
    })
  })
})

describe('the PACS view search form', () => {
  it('leaves empty fields out and upper-cases the modality', () => {
    expect(searchQuery({ ...emptySearchForm(), patientId: ' P-17 ', modality: 'dx' })).toEqual({
      query: { patientId: 'P-17', modality: 'DX' },
      errors: null
    })
    expect(searchQuery(emptySearchForm())).toEqual({ query: {}, errors: null })
  })

  it('turns date inputs into a QIDO-RS date or range, open at either end', () => {
    const dates = (dateFrom: string, dateTo: string) =>
      searchQuery({ ...emptySearchForm(), dateFrom, dateTo }).query?.studyDate
    expect(dates('2020-03-01', '2020-03-31')).toBe('20200301-20200331')
    expect(dates('2020-03-01', '')).toBe('20200301-')
    expect(dates('', '2020-03-31')).toBe('-20200331')
    expect(dates('2020-03-05', '2020-03-05')).toBe('20200305')
    expect(
      searchQuery({ ...emptySearchForm(), dateFrom: '2020-04-01', dateTo: '2020-03-01' }).errors
    ).toEqual({
      dateTo: 'the end is before the start'
    })
  })

  it('refuses a modality that is not a code', () => {
    expect(searchQuery({ ...emptySearchForm(), modality: 'C R' }).errors).toEqual({
      modality: 'a modality is a code such as CR or DX'
    })
  })
})

describe('the PACS view wording', () => {
  it('shows dates, person names, sizes and cache states readably', () => {
    expect(showDate('20200814')).toBe('2020-08-14')
    expect(showDate('')).toBe('')
    expect(showName('DOE^JANE^^')).toBe('DOE JANE')
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(743_424)).toBe('726 KB')
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MB')
    expect(cacheLabel({ cached: null })).toBe('not cached')
    expect(cacheLabel({ cached: 'complete' })).toBe('cached')
    expect(cacheLabel({ cached: 'incomplete' })).toMatch(/^partial/)
  })
})
