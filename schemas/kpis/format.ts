import type { KpiUnit } from './catalog.js';

/**
 * How a value reads in its KPI's unit, wherever people read it (the `kpi` command, the
 * console, the review pack): money with two decimals, ratios as percentages.
 */
export function formatKpiValue(unit: KpiUnit, value: number | null, missing: string): string {
  if (value === null || !Number.isFinite(value)) return missing;
  switch (unit) {
    case 'ratio':
      return `${(value * 100).toFixed(2)}%`;
    case 'money':
      return value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    case 'hours':
      return `${value.toFixed(2)} h`;
    case 'days':
      return `${value.toFixed(1)} d`;
    case 'count':
      return value.toLocaleString('en-US');
    case 'score':
      return value.toFixed(2);
  }
}
