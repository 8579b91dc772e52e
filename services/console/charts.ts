import * as echarts from 'echarts';
import { trusted, type Html } from '../report/template.js';

/*
 * Charts as SVG rendered on the server by Apache ECharts (its server-side renderer): no
 * script in the page, no asset from anywhere else. Every chart stands beside a table of the
 * same numbers, so nothing is only in a picture.
 */

const FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", sans-serif';

function svg(width: number, height: number, option: echarts.EChartsOption): Html {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, textStyle: { fontFamily: FONT }, ...option });
    return trusted(chart.renderToSVGString());
  } finally {
    chart.dispose();
  }
}

/** A small line of values over time, without axes: the shape of a trend. */
export function sparkline(values: (number | null)[]): Html {
  return svg(160, 36, {
    grid: { left: 2, right: 2, top: 4, bottom: 4 },
    xAxis: { type: 'category', show: false, data: values.map((_, i) => i) },
    yAxis: { type: 'value', show: false, scale: true },
    series: [{ type: 'line', data: values, showSymbol: false, lineStyle: { width: 1.5, color: '#2f6fb0' } }],
  });
}

/** A line per series over the same categories (periods). */
export function lineChart(categories: string[], series: { name: string; values: (number | null)[] }[], options: { width?: number; height?: number } = {}): Html {
  return svg(options.width ?? 720, options.height ?? 260, {
    grid: { left: 64, right: 16, top: 32, bottom: 40 },
    legend: { top: 0 },
    tooltip: { show: false },
    xAxis: { type: 'category', data: categories },
    yAxis: { type: 'value', scale: true },
    series: series.map((s) => ({ type: 'line' as const, name: s.name, data: s.values, showSymbol: categories.length < 40 })),
  });
}

/** Bars per category (units), in the given order. */
export function barChart(categories: string[], values: (number | null)[], options: { width?: number; height?: number } = {}): Html {
  return svg(options.width ?? 720, options.height ?? 240, {
    grid: { left: 64, right: 16, top: 16, bottom: 40 },
    xAxis: { type: 'category', data: categories },
    yAxis: { type: 'value' },
    series: [{ type: 'bar', data: values, itemStyle: { color: '#2f6fb0' } }],
  });
}
