import { microsPerMinorSql } from '../../schemas/kpis/measures.js';
import type { ClickHouseClient } from '../shared/clickhouse.js';
import { queryRows } from '../shared/clickhouse.js';

/** Exact money of one currency, in micros (millionths of its unit) as decimal strings. */
export interface CurrencyTotals {
  /** Distinct sales in the currency. */
  sales: number;
  saleLinesNetMicros: string;
  returnsAmountMicros: string;
  refundsMicros: string;
}

export interface WarehouseStats {
  /** Distinct valid events stored, over every family. */
  stored: number;
  /** Messages set aside, each source offset once. */
  dead_letters: number;
  byFamily: { sales: number; orders: number; returns: number; tickets: number };
  /**
   * Sums of the minor-unit columns as decimal strings, every currency added together (v3
   * lines and v2 amounts as those columns hold them, rounded to the minor unit).
   */
  money: { saleLinesNetMinor: string; returnsAmountMinor: string; refundsMinor: string };
  /** Exact money by currency (ISO code, in code order); v1 returns and refunds count in the reporting currency. */
  moneyByCurrency: Record<string, CurrencyTotals>;
  deadLettersByReason: Record<string, number>;
}

/**
 * Counts that hold before merges: distinct event ids, and sums over FINAL (one row per
 * event id and line), so a not-yet-merged duplicate is never counted.
 */
export async function warehouseStats(client: ClickHouseClient, reportingCurrency: string): Promise<WarehouseStats> {
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
  const returnCurrency = "if(currency = '', {reporting: String}, currency)";
  const returnMicros = `ifNull(amount_micro, toInt128(amount_minor) * ${microsPerMinorSql(returnCurrency)})`;
  const byCurrency = await queryRows<{ currency: string; sales: string; net: string; returns: string; refunds: string }>(
    client,
    'SELECT currency, toString(sum(sales)) AS sales, toString(sum(net)) AS net, toString(sum(returns)) AS returns, toString(sum(refunds)) AS refunds FROM (' +
      `SELECT currency, uniqExact(event_id) AS sales, sum(ifNull(net_micro, toInt128(net_minor) * ${microsPerMinorSql('currency')})) AS net, toInt128(0) AS returns, toInt128(0) AS refunds FROM sale_lines FINAL GROUP BY currency ` +
      `UNION ALL SELECT ${returnCurrency} AS currency, 0 AS sales, toInt128(0) AS net, sumIf(${returnMicros}, type = 'return.received') AS returns, sumIf(${returnMicros}, type = 'refund.issued') AS refunds ` +
      "FROM return_events FINAL WHERE type IN ('return.received', 'refund.issued') GROUP BY currency" +
      ') GROUP BY currency ORDER BY currency',
    { reporting: reportingCurrency },
  );
  const moneyByCurrency = Object.fromEntries(
    byCurrency.map((r) => [r.currency, { sales: Number(r.sales), saleLinesNetMicros: r.net, returnsAmountMicros: r.returns, refundsMicros: r.refunds }]),
  );
  const reasons = await queryRows<{ reason_code: string; n: string }>(client, 'SELECT reason_code, count() AS n FROM dead_letters FINAL GROUP BY reason_code ORDER BY reason_code');
  const n = (key: string): number => Number(row?.[key] ?? 0);
  const byFamily = { sales: n('sales'), orders: n('orders'), returns: n('returns'), tickets: n('tickets') };
  return {
    stored: byFamily.sales + byFamily.orders + byFamily.returns + byFamily.tickets,
    dead_letters: n('dead_letters'),
    byFamily,
    money: { saleLinesNetMinor: row?.['sale_net'] ?? '0', returnsAmountMinor: row?.['returns_amount'] ?? '0', refundsMinor: row?.['refunds'] ?? '0' },
    moneyByCurrency,
    deadLettersByReason: Object.fromEntries(reasons.map((r) => [r.reason_code, Number(r.n)])),
  };
}
