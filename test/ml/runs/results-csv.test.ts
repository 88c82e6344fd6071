// results.csv follows Ultralytics' column names, so its plotting tools read a CXR Studio run.
import { describe, expect, it } from 'vitest'
import type { EpochRecord } from '../../../main/ml/runs/results-csv'
import {
  epochScalars,
  formatResultsCsv,
  parseResultsCsv,
  resultsHeader
} from '../../../main/ml/runs/results-csv'

const EFFICIENTDET_LOSSES = ['total', 'cls', 'box', 'study', 'none']
const FCOS_LOSSES = ['total', 'cls', 'box', 'centerness', 'study', 'none']

function record(epoch: number, seconds: number, elapsed: number): EpochRecord {
  const losses = (base: number) => ({
    total: base,
    cls: base / 2,
    box: base / 4,
    study: base / 8,
    none: base / 16
  })
  return {
    epoch,
    train: losses(4 / epoch),
    val: losses(5 / epoch),
    ap: {
      negative: 0.5,
      typical: 0.6,
      indeterminate: 0.1,
      atypical: null,
      opacity: [0.31, 0.32, 0.33][epoch - 1],
      none: 0.7
    },
    studyMap: 0.4,
    imageMap: 0.5,
    final: [0.41, 0.42, 0.43][epoch - 1],
    lr: [1e-3, 5e-4, 2.5e-4][epoch - 1],
    seconds,
    elapsed,
    frozen: []
  }
}

/**
 * The columns `ultralytics.utils.plotting.plot_results` (8.3) draws: every column whose name holds
 * "loss", then every one holding "metric"; the first half of each goes on the top row, the second on
 * the bottom row of a 2 x (n/2) grid, and the x axis is the first column.
 */
function ultralyticsPanels(header: string[]): { top: string[]; bottom: string[] } {
  const losses = header.filter((c) => c.includes('loss'))
  const metrics = header.filter((c) => !c.includes('loss') && c.includes('metric'))
  const lm = Math.floor(losses.length / 2)
  const mm = Math.floor(metrics.length / 2)
  return {
    top: [...losses.slice(0, lm), ...metrics.slice(0, mm)],
    bottom: [...losses.slice(lm), ...metrics.slice(mm)]
  }
}

describe('results.csv', () => {
  it('names its columns as Ultralytics does, and keeps the competition columns', () => {
    const header = resultsHeader(EFFICIENTDET_LOSSES)
    expect(header.slice(0, 2)).toEqual(['epoch', 'time'])
    expect(header).toEqual(
      expect.arrayContaining([
        'train/box_loss',
        'train/cls_loss',
        'train/study_loss',
        'train/none_loss',
        'train/total_loss',
        'val/box_loss',
        'val/cls_loss',
        'val/total_loss',
        'metrics/mAP50(B)',
        'lr/pg0',
        'ap/negative',
        'ap/typical',
        'ap/indeterminate',
        'ap/atypical',
        'ap/opacity',
        'ap/none',
        'studyMap',
        'imageMap',
        'final'
      ])
    )
    expect(new Set(header).size).toBe(header.length)
    expect(resultsHeader(FCOS_LOSSES)).toEqual(
      expect.arrayContaining(['train/centerness_loss', 'val/centerness_loss'])
    )
  })

  it('lays the loss and metric columns out the way plot_results pairs them: train over val, no panel left over', () => {
    for (const keys of [EFFICIENTDET_LOSSES, FCOS_LOSSES]) {
      const header = resultsHeader(keys)
      expect(header[0]).toBe('epoch')
      const { top, bottom } = ultralyticsPanels(header)
      expect(top.length).toBe(bottom.length)
      const losses = top.filter((c) => c.includes('loss'))
      expect(losses.every((c) => c.startsWith('train/'))).toBe(true)
      expect(bottom.filter((c) => c.includes('loss'))).toEqual(losses.map((c) => c.replace('train/', 'val/')))
      expect(losses.slice(0, 2)).toEqual(['train/box_loss', 'train/cls_loss'])
    }
  })

  it('writes metrics/mAP50(B) = opacity AP, lr/pg0 = the learning rate and time = the cumulative seconds', () => {
    const records = [record(1, 10, 12), record(2, 11, 23.5), record(3, 9, 40)]
    const rows = parseResultsCsv(formatResultsCsv(records, EFFICIENTDET_LOSSES))
    expect(rows.map((r) => r.epoch)).toEqual([1, 2, 3])
    expect(rows.map((r) => r.time)).toEqual([12, 23.5, 40])
    expect(rows.map((r) => r.epoch_time)).toEqual([10, 11, 9])
    expect(rows.map((r) => r['metrics/mAP50(B)'])).toEqual(records.map((r) => r.ap.opacity))
    expect(rows.map((r) => r['metrics/final'])).toEqual(records.map((r) => r.final))
    expect(rows.map((r) => r.final)).toEqual(records.map((r) => r.final))
    expect(rows.map((r) => r['lr/pg0'])).toEqual(records.map((r) => r.lr))
    expect(rows[1]['train/box_loss']).toBe(records[1].train.box)
    expect(rows[1]['val/total_loss']).toBe(records[1].val!.total)
    expect(rows[0]['ap/atypical']).toBeNull()
  })

  it('gives TensorBoard the same names and values, without the epoch and empty cells', () => {
    const r = record(2, 11, 23.5)
    const [row] = parseResultsCsv(formatResultsCsv([r], EFFICIENTDET_LOSSES))
    const expected = Object.fromEntries(
      Object.entries(row).filter(([name, value]) => name !== 'epoch' && value !== null)
    )
    expect(epochScalars(r, EFFICIENTDET_LOSSES)).toEqual(expected)
    expect(epochScalars(r, EFFICIENTDET_LOSSES)).toMatchObject({
      time: 23.5,
      'train/total_loss': 2,
      final: 0.42
    })
  })
})
