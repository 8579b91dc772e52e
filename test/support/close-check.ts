import type { BusinessEvent } from '../../schemas/events/index.js';
import { parsePeriod, previousPeriod, type CalendarConfig, type Grain } from '../../schemas/calendar/index.js';
import type { ClickHouseClient } from '../../services/shared/clickhouse.js';
import { readValues } from '../../services/periods/read.js';
import { oracleKpis } from './kpi-oracle.js';

/**
 * How a stored revision's values differ from the independent computation over `events`:
 * the keys (`level|unit|kpi`) whose numerator, denominator or value differ, and the counts
 * of values the oracle has and the revision shows. Values the oracle does not compute
 * (imported inputs, targets) are left out.
 */
export async function differencesFromOracle(
  client: ClickHouseClient,
  events: readonly BusinessEvent[],
  calendar: CalendarConfig,
  query: { grain: Grain; period: string; revision?: number },
): Promise<{ revision: number; status: string; wrong: string[]; expected: number; shown: number }> {
  const p = parsePeriod(query.grain, query.period, calendar);
  const expected = oracleKpis(events, { startMs: Date.parse(p.start), endMs: Date.parse(p.end), previousStartMs: Date.parse(previousPeriod(p, calendar).start) });
  const { values, revision, status } = await readValues(client, query);
  const near = (a: number | null, b: number | null): boolean => a === b || (a !== null && b !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));
  const wrong = values.flatMap((v) => {
    const want = expected.get(`${v.level}|${v.unit}|${v.kpi}`);
    if (!want) return [];
    return v.numerator === want.numerator && v.denominator === want.denominator && near(v.value, want.value) ? [] : [`${v.level}|${v.unit}|${v.kpi}`];
  });
  return { revision, status, wrong, expected: expected.size, shown: values.filter((v) => expected.has(`${v.level}|${v.unit}|${v.kpi}`)).length };
}
