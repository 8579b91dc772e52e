import type { ClickHouseClient } from '../shared/clickhouse.js';
import { queryRows } from '../shared/clickhouse.js';

export interface WarehouseStats {
  /** Distinct valid events stored, over every family. */
  stored: number;
  /** Messages set aside, each source offset once. */
  dead_letters: number;
  byFamily: { sales: number; orders: number; returns: number; tickets: number };
  /** Exact money sums, integer minor units as decimal strings. */
  money: { saleLinesNetMinor: string; returnsAmountMinor: string; refundsMinor: string };
  deadLettersByReason: Record<string, number>;
}

/**
 * Counts that hold before merges: distinct event ids, and sums over FINAL (one row per
 * event id and line), so a not-yet-merged duplicate is never counted.
 */
export async function warehouseStats(client: ClickHouseClient): Promise<WarehouseStats> {
  const [row] = await queryRows<Record<string, string>>(
    client,
    `SELECT
       (SELECT uniqExact(event_id) FROM sale_lines) AS sales,
       (SELECT uniqExact(event_id) FROM order_events) AS orders,
       (SELECT uniqExact(event_id) FROM return_events) AS returns,
       (SELECT uniqExact(event_id) FROM ticket_events) AS tickets,
       (SELECT count() FROM dead_letters FINAL) AS dead_letters,
       (SELECT toString(sum(net_minor)) FROM sale_lines FINAL) AS sale_net,
       (SELECT toString(sumIf(amount_minor, type = 'return.received')) FROM return_events FINAL) AS returns_amount,
       (SELECT toString(sumIf(amount_minor, type = 'refund.issued')) FROM return_events FINAL) AS refunds`,
  );
  const reasons = await queryRows<{ reason_code: string; n: string }>(client, 'SELECT reason_code, count() AS n FROM dead_letters FINAL GROUP BY reason_code ORDER BY reason_code');
  const n = (key: string): number => Number(row?.[key] ?? 0);
  const byFamily = { sales: n('sales'), orders: n('orders'), returns: n('returns'), tickets: n('tickets') };
  return {
    stored: byFamily.sales + byFamily.orders + byFamily.returns + byFamily.tickets,
    dead_letters: n('dead_letters'),
    byFamily,
    money: { saleLinesNetMinor: row?.['sale_net'] ?? '0', returnsAmountMinor: row?.['returns_amount'] ?? '0', refundsMinor: row?.['refunds'] ?? '0' },
    deadLettersByReason: Object.fromEntries(reasons.map((r) => [r.reason_code, Number(r.n)])),
  };
}
