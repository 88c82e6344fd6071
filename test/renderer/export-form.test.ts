import { describe, expect, it } from 'vitest'
import {
  EXPORT_FORMATS,
  emptyExportForm,
  exportCall,
  safeName,
  suggestedName
} from '../../renderer/src/predictions/export-form'

const datasetId = '0123456789abcdef'

describe('the Export view forms', () => {
  it('makes a COCO request with the fields the user set, and overwrite only once confirmed', () => {
    const form = emptyExportForm({
      format: 'coco',
      valFraction: '0.3',
      seed: '7',
      images: 'png16',
      size: '512'
    })
    const first = exportCall(form, datasetId, '/tmp/out/coco')
    expect(first.errors).toBeNull()
    expect(first.call).toEqual({
      call: 'exportDataset',
      request: {
        datasetId,
        format: 'coco',
        valFraction: 0.3,
        seed: 7,
        policy: 'keep-boxed',
        categories: 'opacity',
        images: 'png16',
        size: 512,
        out: '/tmp/out/coco'
      }
    })
    const confirmed = exportCall(form, datasetId, '/tmp/out/coco', true)
    expect(confirmed.call?.request).toMatchObject({ overwrite: true })
  })

  it('names each bad field before anything starts', () => {
    const form = emptyExportForm({ format: 'coco', valFraction: '1', seed: '1.5', size: '256' })
    expect(exportCall(form, datasetId, '  ').errors).toEqual({
      out: 'choose where to write',
      valFraction: 'a fraction from 0 up to (not including) 1',
      seed: 'a whole number',
      size: 'a size needs PNG images'
    })
    expect(exportCall(emptyExportForm({ size: '20', images: 'png8' }), datasetId, '/x').errors).toEqual({
      size: 'a whole number of pixels from 32 to 8192'
    })
  })

  it('YOLO always writes images, leaves out the COCO-only categories, and carries the test split choice', () => {
    const { call } = exportCall(emptyExportForm({ format: 'yolo', test: true }), datasetId, '/tmp/yolo')
    expect(call?.request).toMatchObject({ format: 'yolo', images: 'png8', test: true })
    expect(call?.request).not.toHaveProperty('categories')
    // COCO writes test.json only when asked
    expect(exportCall(emptyExportForm({ test: true }), datasetId, '/c').call?.request).toMatchObject({
      test: true
    })
    expect(exportCall(emptyExportForm(), datasetId, '/c').call?.request).not.toHaveProperty('test')
  })

  it('exports a submission from a stored prediction or from a run on the test split', () => {
    const fromPrediction = exportCall(
      emptyExportForm({ format: 'submission', predictionId: 'r1-best-test' }),
      datasetId,
      '/tmp/sub.csv'
    )
    expect(fromPrediction.call).toEqual({
      call: 'exportPrediction',
      request: { format: 'submission', predictionId: 'r1-best-test', out: '/tmp/sub.csv' }
    })
    const fromRun = exportCall(
      emptyExportForm({ format: 'submission', source: 'run', runId: 'fedcba9876543210', checkpoint: 'last' }),
      datasetId,
      '/tmp/sub.csv'
    )
    expect(fromRun.call?.request).toEqual({
      format: 'submission',
      runId: 'fedcba9876543210',
      checkpoint: 'last',
      datasetId,
      out: '/tmp/sub.csv'
    })
    expect(exportCall(emptyExportForm({ format: 'coco-results' }), datasetId, '/tmp/r.json').errors).toEqual({
      predictionId: 'choose a stored prediction'
    })
  })

  it('suggests names the back end accepts, a file for predictions and a folder for datasets', () => {
    expect(suggestedName(emptyExportForm({ format: 'coco' }), 'siim demo (copy)')).toBe('siim-demo-copy-coco')
    expect(suggestedName(emptyExportForm({ format: 'coco-results', predictionId: 'r1' }), 'x')).toBe(
      'r1-coco-results'
    )
    expect(suggestedName(emptyExportForm({ format: 'submission', predictionId: 'r1' }), 'x')).toBe(
      'r1-submission.csv'
    )
    const long = suggestedName(emptyExportForm({ format: 'coco-results', predictionId: 'p'.repeat(80) }), 'x')
    expect(long.length).toBeLessThanOrEqual(80)
    expect(long.endsWith('-coco-results')).toBe(true)
    expect(safeName('  ..//')).toBe('export')
    expect(EXPORT_FORMATS.coco.kind).toBe('folder')
    expect(EXPORT_FORMATS['coco-results'].kind).toBe('folder')
    expect(EXPORT_FORMATS.submission.kind).toBe('file')
  })
})
