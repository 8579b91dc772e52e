import * as table from '@grafana/grafana-foundation-sdk/table';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { clickhouseQuery } from './clickhouse.js';
import { UIDS, bilingual, frame, grainVariable, periodVariable } from './common.js';

/**
 * Finance close: every period's state, revision, forced close and pending restatement; what
 * a period's restatements changed (as reported → restated); the approval audit trail.
 */
export function financeClose(): dashboard.Dashboard {
  const board = frame(UIDS.finance, '财务结账', 'Finance close', 'Closed periods, restatements awaiting approval, and the audit trail of closes, approvals and reopenings.')
    .withVariable(grainVariable('quarter'))
    .withVariable(periodVariable());
  board.withPanel(
    new table.PanelBuilder()
      .title(bilingual('期间状态', 'Periods'))
      .description('pending: a restatement awaits finance approval; forced: closed before its end, grace or ingest.')
      .height(10)
      .span(24)
      .withTarget(clickhouseQuery('SELECT grain, period, state, revision, current_state, pending_revision, revisions, forced, updated_at FROM v_periods WHERE grain = ${grain:sqlstring} ORDER BY period DESC')),
  );
  board.withPanel(
    new table.PanelBuilder()
      .title(bilingual('重述差异（原报 → 重述）', 'Restatements: as reported → restated'))
      .height(10)
      .span(24)
      .withTarget(
        clickhouseQuery(
          'SELECT from_revision, to_revision, to_state, kpi, label_zh, label_en, level, unit, old_value, new_value, new_value - old_value AS change FROM v_restatements WHERE grain = ${grain:sqlstring} AND period = ${period:sqlstring} ORDER BY to_revision DESC, kpi, level, unit',
        ),
      ),
  );
  board.withPanel(
    new table.PanelBuilder()
      .title(bilingual('审批记录', 'Audit trail'))
      .description('Every close, approval, restatement and reopening, who did it and why (hash-chained; kpi audit verify checks it).')
      .height(10)
      .span(24)
      .withTarget(clickhouseQuery('SELECT at, grain, period, revision, action, actor, comment FROM period_audit WHERE grain = ${grain:sqlstring} AND $__timeFilter(at) ORDER BY at DESC')),
  );
  return board.build();
}
