// echarts, registered once with only the pieces the Data page, the training charts and the
// Evaluation view draw (keeps the bundle small).
import { BarChart, HeatmapChart, LineChart, PieChart } from 'echarts/charts'
import {
  DataZoomInsideComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  MarkPointComponent,
  TooltipComponent,
  VisualMapContinuousComponent
} from 'echarts/components'
import { use } from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'

use([
  BarChart,
  HeatmapChart,
  LineChart,
  PieChart,
  DataZoomInsideComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  MarkPointComponent,
  TooltipComponent,
  VisualMapContinuousComponent,
  CanvasRenderer
])

const AXIS = {
  axisLine: { lineStyle: { color: '#3a4656' } },
  axisLabel: { color: '#9aa6b4' },
  splitLine: { lineStyle: { color: '#1d252f' } }
}

export interface BarSeries {
  name: string
  values: number[]
  color?: string
}

/** A bar chart in the reading-room palette. */
export function barOption(
  categories: string[],
  series: BarSeries[],
  options: { horizontal?: boolean; colors?: string[] } = {}
) {
  // every category labelled (echarts otherwise skips labels that might overlap, e.g. "typical")
  const category = {
    type: 'category' as const,
    data: categories,
    ...AXIS,
    axisLabel: { ...AXIS.axisLabel, interval: 0, hideOverlap: false }
  }
  const value = { type: 'value' as const, minInterval: 1, ...AXIS }
  return {
    backgroundColor: 'transparent',
    textStyle: { color: '#c9d2dc' },
    tooltip: {
      trigger: 'axis' as const,
      backgroundColor: '#19202a',
      borderColor: '#232c38',
      textStyle: { color: '#c9d2dc' }
    },
    legend: series.length > 1 ? { top: 0, textStyle: { color: '#9aa6b4' } } : undefined,
    grid: { left: options.horizontal ? 170 : 44, right: 16, top: series.length > 1 ? 30 : 12, bottom: 28 },
    xAxis: options.horizontal ? value : category,
    yAxis: options.horizontal ? category : value,
    series: series.map((s) => ({
      type: 'bar' as const,
      name: s.name,
      // series colour for the legend; per-bar colours (one class per bar) override it
      itemStyle: { color: s.color ?? '#4fa3ff' },
      data: s.values.map((v, i) =>
        options.colors?.[i] ? { value: v, itemStyle: { color: options.colors[i] } } : v
      ),
      barMaxWidth: 36
    }))
  }
}

export interface LineSeries {
  name: string
  /** [x, y] pairs, x ascending. */
  points: Array<[number, number]>
  color?: string
  /** Dashed (e.g. the validation curve beside the training one). */
  dashed?: boolean
  /** A vertical line at this x (the best epoch) and a marker on this series' point there. */
  mark?: { x: number; label: string }
}

export interface LineOptions {
  xName: string
  /** Integer x ticks (epochs). */
  integerX?: boolean
  /** Fixed x range (epochs: 1 to the planned epochs, so a live run's chart shows how far it has to go). */
  xMin?: number
  xMax?: number
  /** Log scale (losses spanning decades, learning rates). */
  logY?: boolean
  /** Wheel / drag zoom along x (long step curves). */
  zoom?: boolean
  /** Points drawn with symbols (a handful of epochs). */
  symbols?: boolean
  /** y axis label formatter digits. */
  yDigits?: number
}

/**
 * Curves that may hold thousands of points and redraw several times a second: no animation, no
 * symbols, LTTB sampling to the pixel width, and markers only where they mean something.
 */
export function lineOption(series: LineSeries[], options: LineOptions) {
  const tooltipBox = { backgroundColor: '#19202a', borderColor: '#232c38', textStyle: { color: '#c9d2dc' } }
  return {
    backgroundColor: 'transparent',
    animation: false,
    textStyle: { color: '#c9d2dc' },
    tooltip: { trigger: 'axis' as const, ...tooltipBox, valueFormatter: formatTooltipValue },
    legend: series.length > 1 ? { top: 0, textStyle: { color: '#9aa6b4' }, itemHeight: 8 } : undefined,
    grid: { left: 52, right: 16, top: series.length > 1 ? 28 : 12, bottom: 34 },
    xAxis: {
      type: 'value' as const,
      name: options.xName,
      nameLocation: 'middle' as const,
      nameGap: 22,
      nameTextStyle: { color: '#7d8896' },
      min: options.xMin ?? ('dataMin' as const),
      max: options.xMax ?? ('dataMax' as const),
      minInterval: options.integerX ? 1 : undefined,
      ...AXIS
    },
    yAxis: {
      type: options.logY ? ('log' as const) : ('value' as const),
      scale: true,
      ...AXIS,
      axisLabel: { ...AXIS.axisLabel, formatter: (v: number) => formatAxisValue(v, options.yDigits) }
    },
    dataZoom: options.zoom
      ? [{ type: 'inside' as const, xAxisIndex: 0, filterMode: 'none' as const }]
      : undefined,
    series: series.map((s) => ({
      type: 'line' as const,
      name: s.name,
      data: s.points,
      showSymbol: Boolean(options.symbols),
      symbolSize: 5,
      sampling: 'lttb' as const,
      animation: false,
      connectNulls: true,
      lineStyle: { width: 1.5, color: s.color, type: s.dashed ? ('dashed' as const) : ('solid' as const) },
      itemStyle: { color: s.color },
      markLine: s.mark
        ? {
            silent: true,
            symbol: 'none',
            animation: false,
            lineStyle: { color: '#3ddc84', type: 'dashed' as const, width: 1 },
            // the pin and the page's best line name it; a label here clips at the chart's edge
            label: { show: false },
            tooltip: { formatter: s.mark.label },
            data: [{ xAxis: s.mark.x }]
          }
        : undefined,
      markPoint: s.mark
        ? {
            animation: false,
            symbol: 'pin',
            symbolSize: 34,
            itemStyle: { color: '#3ddc84' },
            label: { color: '#0b0e12', fontSize: 10, formatter: '★' },
            data: s.points
              .filter(([x]) => x === s.mark!.x)
              .slice(0, 1)
              .map(([x, y]) => ({ coord: [x, y], value: y }))
          }
        : undefined
    }))
  }
}

function formatAxisValue(value: number, digits?: number): string {
  if (digits !== undefined) return value.toFixed(digits)
  if (value === 0) return '0'
  return Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5
    ? value.toExponential(0)
    : String(Number(value.toPrecision(3)))
}

function formatTooltipValue(value: unknown): string {
  return typeof value === 'number' ? String(Number(value.toPrecision(4))) : String(value)
}
