import { describe, expect, it } from 'vitest'
import type { RunSummary } from '../../common/contract'
import { STUDY_FROM_CHOICES } from '../../common/domain'
import {
  STUDY_FROM_LABELS,
  STUDY_FROM_OPTIONS,
  emptyPredictForm,
  predictRequest,
  predictableRuns
} from '../../renderer/src/predictions/predict-form'
import { describeLayerCounts, describeRowError, describeScope } from '../../renderer/src/predictions/format'

const runId = '0123456789abcdef'
const datasetId = 'fedcba9876543210'

describe('the New prediction form', () => {
  it('predicts the test split with the best checkpoint unless told otherwise', () => {
    const form = emptyPredictForm({ runId, datasetId })
    expect(predictRequest(form).request).toEqual({
      runId,
      checkpoint: 'best',
      datasetId,
      scope: 'test',
      tta: false,
      merge: 'nms',
      runtime: 'auto'
    })
  })

  it('asks for the runtime chosen (ONNX Runtime or tfjs only)', () => {
    const form = emptyPredictForm({ runId, datasetId })
    expect(predictRequest({ ...form, runtime: 'tfjs' }).request?.runtime).toBe('tfjs')
    expect(predictRequest({ ...form, runtime: 'onnx' }).request?.runtime).toBe('onnx')
  })

  it("asks for the study mode chosen, and leaves it to the run's default otherwise", () => {
    const form = emptyPredictForm({ runId, datasetId })
    expect(predictRequest(form).request?.studyFrom).toBeUndefined()
    for (const mode of STUDY_FROM_CHOICES)
      expect(predictRequest({ ...form, studyFrom: mode }).request?.studyFrom).toBe(mode)
    expect(STUDY_FROM_OPTIONS).toEqual(['', ...STUDY_FROM_CHOICES])
    for (const option of STUDY_FROM_OPTIONS) expect(STUDY_FROM_LABELS[option]).toBeTruthy()
  })

  it('coming from the viewer, predicts the current image', () => {
    const form = emptyPredictForm({ runId, datasetId, imageId: '65761e66de9f' })
    expect(form.scope).toBe('image')
    expect(predictRequest({ ...form, tta: true, merge: 'wbf', name: 'one-image' }).request).toMatchObject({
      scope: 'image',
      imageId: '65761e66de9f',
      tta: true,
      merge: 'wbf',
      name: 'one-image'
    })
  })

  it('names what is missing or malformed next to its field', () => {
    expect(predictRequest(emptyPredictForm({ scope: 'image', name: '-bad name' })).errors).toEqual({
      runId: 'choose a run',
      datasetId: 'choose a dataset',
      scope: 'open an image in the viewer to predict it alone',
      name: 'letters, digits, dot, dash and underscore, starting with a letter or digit'
    })
  })

  it('offers only runs with a checkpoint that are not training now', () => {
    const run = (name: string, epochs: number, state: RunSummary['state']) =>
      ({ name, epochs, state }) as RunSummary
    const runs = [
      run('a', 3, 'completed'),
      run('b', 0, 'failed'),
      run('c', 2, 'running'),
      run('d', 1, 'cancelled')
    ]
    expect(predictableRuns(runs).map((r) => r.name)).toEqual(['a', 'd'])
  })
})

describe('prediction text', () => {
  it('describes the layer and its unreadable rows the way the panel shows them', () => {
    expect(describeLayerCounts({ boxes: 1, images: 30, studies: 12 })).toBe('1 box on 30 images · 12 studies')
    expect(describeRowError({ line: 7, message: 'abc_image: a box needs 6 values' })).toBe(
      'line 7: abc_image: a box needs 6 values'
    )
    expect(describeScope({ scope: 'image', imageId: 'abc' })).toBe('one image (abc)')
    expect(describeScope({ scope: 'test', imageId: null })).toBe('test/ split')
  })
})
