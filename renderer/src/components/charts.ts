// echarts, registered once with only the pieces the Data page draws (keeps the bundle small).
import { BarChart, PieChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import { use } from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'

use([BarChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer])

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
