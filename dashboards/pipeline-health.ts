import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { clickhouseQuery } from './clickhouse.js';
import { UIDS, bilingual, frame } from './common.js';
import { PROMETHEUS } from './datasources.js';

/** A PromQL target on the provisioned Prometheus (it scrapes the kpi services' /metrics). */
const promQuery = (expr: string, legend: string): prometheus.DataqueryBuilder =>
  new prometheus.DataqueryBuilder().refId('A').datasource({ type: PROMETHEUS.type, uid: PROMETHEUS.uid }).expr(expr).legendFormat(legend).range();

/** Events that arrived in a period after its first close: what restatements are made of. */
const ARRIVALS_AFTER_CLOSE = [
  'SELECT p.grain AS grain, p.period AS period, sum(a.events) AS events_after_close, max(a.arrived_at) AS last_arrival',
  'FROM arrivals AS a CROSS JOIN (',
  'SELECT v.grain AS grain, v.period AS period, v.period_start AS period_start, v.period_end AS period_end, c.closed_at AS closed_at FROM v_periods AS v',
  "INNER JOIN (SELECT grain, period, min(at) AS closed_at FROM period_audit WHERE action = 'close' GROUP BY grain, period) AS c ON c.grain = v.grain AND c.period = v.period",
  ') AS p',
  'WHERE a.slice >= p.period_start AND a.slice < p.period_end AND a.arrived_at > p.closed_at AND $__timeFilter(a.arrived_at)',
  'GROUP BY grain, period ORDER BY last_arrival DESC, grain, period',
].join(' ');

/**
 * Pipeline health: how far ingest is behind and how fresh the stored events are, per
 * partition; events stored per family; dead letters by reason with the first bytes of
 * recent ones; events that arrived into closed periods. From the warehouse, and from the
 * ingest metrics Prometheus scrapes.
 */
export function pipelineHealth(): dashboard.Dashboard {
  const board = frame(UIDS.health, '数据管道健康', 'Pipeline health', 'Ingest lag and freshness, events per family, dead letters, late arrivals.').time({ from: 'now-7d', to: 'now' });

  board.withRow(new dashboard.RowBuilder(bilingual('摄取进度', 'Ingest progress')));
  board.withPanel(
    new table.PanelBuilder()
      .title(bilingual('各分区新鲜度', 'Freshness per partition'))
      .description('The newest event time stored from each partition, and how long ago ingest last wrote.')
      .height(8)
      .span(12)
      .withTarget(
        clickhouseQuery(
          "SELECT topic, partition, next_offset, max_event_time, dateDiff('second', max_event_time, now64(3)) AS event_age_seconds, dateDiff('second', updated_at, now64(3)) AS since_write_seconds FROM ingest_progress FINAL ORDER BY topic, partition",
        ),
      ),
  );
  board.withPanel(
    new timeseries.PanelBuilder()
      .title(bilingual('消费延迟', 'Consumer lag (messages)'))
      .height(8)
      .span(12)
      .withTarget(promQuery('max by (topic, partition) (kpi_ingest_consumer_lag)', '{{topic}}/{{partition}}')),
  );
  board.withPanel(
    new timeseries.PanelBuilder()
      .title(bilingual('每分钟事件（按类型）', 'Events per minute, by family'))
      .height(8)
      .span(12)
      .withTarget(promQuery('sum by (family) (rate(kpi_ingest_events_total[5m])) * 60', '{{family}}')),
  );
  board.withPanel(
    new timeseries.PanelBuilder()
      .title(bilingual('已存事件（每15分钟）', 'Events stored per 15 minutes of event time'))
      .height(8)
      .span(12)
      .withTarget(clickhouseQuery('SELECT slice AS time, family, events FROM v_events_by_family WHERE $__timeFilter(slice) ORDER BY time, family', { as: 'timeseries' })),
  );

  board.withRow(new dashboard.RowBuilder(bilingual('死信', 'Dead letters')));
  board.withPanel(
    new table.PanelBuilder()
      .title(bilingual('按原因', 'By reason'))
      .height(8)
      .span(8)
      .withTarget(clickhouseQuery('SELECT reason_code, count() AS messages, max(received_at) AS last_received FROM dead_letters FINAL WHERE $__timeFilter(received_at) GROUP BY reason_code ORDER BY messages DESC, reason_code')),
  );
  board.withPanel(
    new table.PanelBuilder()
      .title(bilingual('最近的死信', 'Recent dead letters'))
      .description('The reason and the first bytes of each message set aside (byte for byte on the dead-letter topic).')
      .height(8)
      .span(16)
      .withTarget(
        clickhouseQuery('SELECT received_at, topic, partition, offset, reason_code, reason, substring(payload, 1, 120) AS first_bytes FROM dead_letters FINAL WHERE $__timeFilter(received_at) ORDER BY received_at DESC, offset LIMIT 50'),
      ),
  );
  board.withPanel(
    new timeseries.PanelBuilder()
      .title(bilingual('死信速率', 'Dead letters per minute'))
      .height(7)
      .span(24)
      .withTarget(promQuery('sum by (reason) (rate(kpi_ingest_dead_letters_total[5m])) * 60', '{{reason}}')),
  );

  board.withRow(new dashboard.RowBuilder(bilingual('结账后到达', 'Arrivals into closed periods')));
  board.withPanel(
    new table.PanelBuilder()
      .title(bilingual('结账后到达的事件', 'Events that arrived after their period closed'))
      .description('Each triggers a restatement (a new revision; an approved quarter waits for approval again).')
      .height(8)
      .span(24)
      .withTarget(clickhouseQuery(ARRIVALS_AFTER_CLOSE)),
  );
  return board.build();
}
