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

/** What is stored, without money: distinct valid events by family and dead letters. */
export type StoredCounts = Pick<WarehouseStats, 'stored' | 'dead_letters' | 'byFamily'>;

/** Distinct event ids by family and dead letters, each source offset once: cheap enough to poll while ingest runs. */
export async function storedCounts(client: ClickHouseClient): Promise<StoredCounts> {
  const [row] = await queryRows<Record<string, string>>(
    client,
    `SELECT
       (SELECT uniqExact(event_id) FROM sale_lines) AS sales,
       (SELECT uniqExact(event_id) FROM order_events) AS orders,
       (SELECT uniqExact(event_id) FROM return_events) AS returns,
       (SELECT uniqExact(event_id) FROM ticket_events) AS tickets,
       (SELECT count() FROM dead_letters FINAL) AS dead_letters`,
  );
  const n = (key: string): number => Number(row?.[key] ?? 0);
  const byFamily = { sales: n('sales'), orders: n('orders'), returns: n('returns'), tickets: n('tickets') };
  return { stored: byFamily.sales + byFamily.orders + byFamily.returns + byFamily.tickets, dead_letters: n('dead_letters'), byFamily };
}

/**
 * Counts that hold before merges: distinct event ids, and sums over FINAL (one row per
 * event id and line), so a not-yet-merged duplicate is never counted.
 */
export async function warehouseStats(client: ClickHouseClient, reportingCurrency: string): Promise<WarehouseStats> {
  const counts = await storedCounts(client);
  // One scan of each table, by currency: exact micros, and the minor-unit columns' sums.
  const returnCurrency = "if(currency = '', {reporting: String}, currency)";
  const returnMicros = `ifNull(amount_micro, toInt128(amount_minor) * ${microsPerMinorSql(returnCurrency)})`;
  const byCurrency = await queryRows<{ currency: string; sales: string; net: string; returns: string; refunds: string; minor_net: string; minor_returns: string; minor_refunds: string }>(
    client,
    'SELECT currency, toString(sum(sales)) AS sales, toString(sum(net)) AS net, toString(sum(returns)) AS returns, toString(sum(refunds)) AS refunds, ' +
      'toString(sum(minor_net)) AS minor_net, toString(sum(minor_returns)) AS minor_returns, toString(sum(minor_refunds)) AS minor_refunds FROM (' +
      `SELECT currency, uniqExact(event_id) AS sales, sum(ifNull(net_micro, toInt128(net_minor) * ${microsPerMinorSql('currency')})) AS net, toInt128(0) AS returns, toInt128(0) AS refunds, ` +
      // Aliases differ from column names: an alias would shadow its column inside the sum.
      'toInt128(sum(net_minor)) AS minor_net, toInt128(0) AS minor_returns, toInt128(0) AS minor_refunds FROM sale_lines FINAL GROUP BY currency ' +
      `UNION ALL SELECT ${returnCurrency} AS currency, 0 AS sales, toInt128(0) AS net, sumIf(${returnMicros}, type = 'return.received') AS returns, sumIf(${returnMicros}, type = 'refund.issued') AS refunds, ` +
      "toInt128(0) AS minor_net, toInt128(sumIf(amount_minor, type = 'return.received')) AS minor_returns, toInt128(sumIf(amount_minor, type = 'refund.issued')) AS minor_refunds " +
      "FROM return_events FINAL WHERE type IN ('return.received', 'refund.issued') GROUP BY currency" +
      ') GROUP BY currency ORDER BY currency',
    { reporting: reportingCurrency },
  );
  const moneyByCurrency = Object.fromEntries(
    byCurrency.map((r) => [r.currency, { sales: Number(r.sales), saleLinesNetMicros: r.net, returnsAmountMicros: r.returns, refundsMicros: r.refunds }]),
  );
  const total = (pick: (r: (typeof byCurrency)[number]) => string): string => byCurrency.reduce((sum, r) => sum + BigInt(pick(r)), 0n).toString();
  const reasons = await queryRows<{ reason_code: string; n: string }>(client, 'SELECT reason_code, count() AS n FROM dead_letters FINAL GROUP BY reason_code ORDER BY reason_code');
  return {
    ...counts,
    money: { saleLinesNetMinor: total((r) => r.minor_net), returnsAmountMinor: total((r) => r.minor_returns), refundsMinor: total((r) => r.minor_refunds) },
    moneyByCurrency,
    deadLettersByReason: Object.fromEntries(reasons.map((r) => [r.reason_code, Number(r.n)])),
  };
}
