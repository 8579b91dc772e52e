import { BarChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import type { KpiUnit } from '../../schemas/kpis/catalog.js';
import { trusted, type Html } from './template.js';

/**
 * Charts of the review pack, drawn on the server by Apache ECharts as SVG strings and put
 * into the page inline: no script runs in the page and nothing is fetched. ECharts escapes
 * the text it draws; the labels given here are the catalog's and unit ids anyway.
 */

echarts.use([BarChart, ScatterChart, GridComponent, LegendComponent, TitleComponent, SVGRenderer]);

/** The pack's font stack, in single quotes: ECharts writes it into a double-quoted style attribute. */
const FONT = "'Noto Sans CJK SC', 'Noto Sans SC', sans-serif";

/** What a series is, which fixes how it is drawn: bars for values, a tick for a target. */
export type SeriesRole = 'current' | 'previous' | 'target';

const COLOURS: Record<SeriesRole, string> = { current: '#2f5d8a', previous: '#9bb7d4', target: '#c0392b' };

export interface ChartSeries {
  name: string;
  role: SeriesRole;
  /** One value per category, in the KPI's value unit; null draws nothing. */
  values: (number | null)[];
}

/** How an axis tick of a KPI reads: percentages for ratios, compact large numbers (12.3k, 4.5M). */
function tick(unit: KpiUnit): (v: number) => string {
  if (unit === 'ratio') return (v) => `${Math.round(v * 1_000) / 10}%`;
  return (v) => {
    const abs = Math.abs(v);
    if (abs >= 1e6) return `${Math.round(v / 1e5) / 10}M`;
    if (abs >= 1e3) return `${Math.round(v / 1e2) / 10}k`;
    return String(Math.round(v * 100) / 100);
  };
}

/**
 * One small chart: bars (and target ticks) per series over the categories (units), with a legend.
 * `id` names the chart in the page: the ids ECharts gives its SVG elements come from a
 * counter of the process, so they are renamed after it, and two packs of the same data are
 * the same text. The hover rules ECharts adds in a <style> are dropped with their classes: a
 * printed page has no hover, and the pack keeps one stylesheet.
 */
export function kpiChart(options: { id: string; title: string; unit: KpiUnit; categories: string[]; series: ChartSeries[]; width: number; height: number }): Html {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: options.width, height: options.height });
  try {
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: FONT, fontSize: 10 },
      title: { text: options.title, left: 0, top: 0, textStyle: { fontFamily: FONT, fontSize: 11, fontWeight: 'bold' } },
      legend: { bottom: 0, itemWidth: 10, itemHeight: 8, selectedMode: false, textStyle: { fontFamily: FONT, fontSize: 9 } },
      grid: { left: 44, right: 8, top: 24, bottom: 34 },
      xAxis: { type: 'category', data: options.categories, silent: true, axisLabel: { fontFamily: FONT, fontSize: 9 } },
      yAxis: { type: 'value', silent: true, axisLabel: { fontFamily: FONT, fontSize: 9, formatter: tick(options.unit) } },
      // A target is a tick across its unit's bars, not a line: units are not a sequence.
      series: options.series.map((s) =>
        s.role === 'target'
          ? { type: 'scatter', name: s.name, data: s.values, silent: true, symbol: 'rect', symbolSize: [26, 3], itemStyle: { color: COLOURS.target } }
          : { type: 'bar', name: s.name, data: s.values, silent: true, barMaxWidth: 22, itemStyle: { color: COLOURS[s.role] } },
      ),
    });
    const svg = chart
      .renderToSVGString()
      .replace(/<style[\s\S]*?<\/style>/g, '')
      // The hover classes (numbered by a cache of the process) and ECharts' own metadata
      // attributes mean nothing without the style and the script.
      .replace(/ class="zr\d+-cls-\d+"/g, '')
      .replace(/ ecmeta_[a-z_]+="[^"]*"/g, '')
      .replace(/\bzr\d+-/g, `${options.id}-`);
    return trusted(svg);
  } finally {
    chart.dispose();
  }
}
