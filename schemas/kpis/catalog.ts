import type { MeasureId } from './measures.js';

/**
 * The KPI catalog: every KPI the product computes, from events or from manual inputs.
 * KPI-DIGEST §2 is the source of the list; labels keep the source document's Chinese terms.
 *
 * How a value is formed, the same for every event KPI:
 * - `numerator` and `denominator` are stored with the value, so any roll-up is exact
 *   (sum the numerators, sum the denominators, divide; never an average of averages);
 * - value = numerator ÷ denominator × scale, or numerator × scale without a denominator;
 * - a percentile (p90) is computed per unit from the rows; its numerator is empty and its
 *   denominator is the number of rows it was taken over;
 * - a denominator of 0 (nothing to measure) gives no value: reported as missing, never as 0.
 * Money (unit `money`) is in the reporting currency (KPI_REPORTING_CURRENCY, CNY by default):
 * measures are exact hundredths of it (fen for CNY), reported in whole units (yuan).
 */

export const KPI_UNITS = ['money', 'ratio', 'hours', 'count', 'score', 'days'] as const;
export type KpiUnit = (typeof KPI_UNITS)[number];
export type Direction = 'higher' | 'lower';

/** A measure, added or (with a leading '-') subtracted. */
export type Term = MeasureId | `-${MeasureId}`;

export interface EventFormula {
  numerator: readonly Term[];
  denominator?: readonly Term[];
  /** A per-unit statistic used as the value (percentiles); numerator is then empty. */
  statistic?: MeasureId;
  /** value = numerator ÷ denominator × scale. @default 1 */
  scale?: number;
}

interface KpiBase {
  id: string;
  /** Label in the source document's terms. */
  zh: string;
  en: string;
  unit: KpiUnit;
  direction: Direction;
  definition: string;
}

export interface EventKpi extends KpiBase {
  kind: 'event';
  formula: EventFormula;
}

/** Entered by people (CSV or API), per unit and period; takes part in scorecards like any KPI. */
export interface ManualKpi extends KpiBase {
  kind: 'manual';
}

export type Kpi = EventKpi | ManualKpi;

const MINOR_TO_MAJOR = 0.01;
const MS_TO_HOURS = 1 / 3_600_000;

const event = (k: Omit<EventKpi, 'kind'>): EventKpi => ({ kind: 'event', ...k });
const manual = (k: Omit<ManualKpi, 'kind'>): ManualKpi => ({ kind: 'manual', ...k });

export const KPIS = [
  // ── sales ──
  event({
    id: 'gross_sales', zh: '销售额（折前）', en: 'Gross sales', unit: 'money', direction: 'higher',
    definition: 'Quantity × unit price of every sale line with occurred_at in the period, before discounts.',
    formula: { numerator: ['sales_gross_minor'], scale: MINOR_TO_MAJOR },
  }),
  event({
    id: 'net_sales', zh: '销售额', en: 'Net sales', unit: 'money', direction: 'higher',
    definition: 'Sale line amounts (quantity × unit price − discount) with occurred_at in the period, minus refunds issued in the period.',
    formula: { numerator: ['sales_net_minor', '-returns_refund_minor'], scale: MINOR_TO_MAJOR },
  }),
  event({
    id: 'sales_attainment', zh: '销售目标达成率', en: 'Sales target attainment', unit: 'ratio', direction: 'higher',
    definition: 'Net sales ÷ the net-sales target of the unit and period (targets import). Missing without a target.',
    formula: { numerator: ['sales_net_minor', '-returns_refund_minor'], denominator: ['target_net_sales_minor'] },
  }),
  event({
    id: 'units_sold', zh: '销售件数', en: 'Units sold', unit: 'count', direction: 'higher',
    definition: 'Units on sale lines with occurred_at in the period.',
    formula: { numerator: ['sales_units'] },
  }),
  event({
    id: 'transactions', zh: '成交笔数', en: 'Transactions', unit: 'count', direction: 'higher',
    definition: 'Distinct sales (sale_id) with occurred_at in the period.',
    formula: { numerator: ['sales_transactions'] },
  }),
  event({
    id: 'average_order_value', zh: '客单价', en: 'Average order value', unit: 'money', direction: 'higher',
    definition: 'Sale line amounts in the period ÷ distinct sales in the period (before refunds).',
    formula: { numerator: ['sales_net_minor'], denominator: ['sales_transactions'], scale: MINOR_TO_MAJOR },
  }),
  event({
    id: 'gross_profit', zh: '毛利润', en: 'Gross profit', unit: 'money', direction: 'higher',
    definition: 'Over sale lines in the period that carry a unit cost: line amount − quantity × unit cost.',
    formula: { numerator: ['sales_costed_net_minor', '-sales_costed_cost_minor'], scale: MINOR_TO_MAJOR },
  }),
  event({
    id: 'gross_margin_rate', zh: '毛利润率', en: 'Gross margin rate', unit: 'ratio', direction: 'higher',
    definition: '(Revenue − cost) ÷ revenue over sale lines in the period that carry a unit cost.',
    formula: { numerator: ['sales_costed_net_minor', '-sales_costed_cost_minor'], denominator: ['sales_costed_net_minor'] },
  }),
  event({
    id: 'profit_attainment', zh: '销售利润达成率', en: 'Profit attainment', unit: 'ratio', direction: 'higher',
    definition: 'Gross profit ÷ the gross-profit target of the unit and period (targets import). Missing without a target.',
    formula: { numerator: ['sales_costed_net_minor', '-sales_costed_cost_minor'], denominator: ['target_gross_profit_minor'] },
  }),
  // ── customers ──
  event({
    id: 'active_customers', zh: '活跃客户数', en: 'Active customers', unit: 'count', direction: 'higher',
    definition: 'Distinct customers (customer_id) with a sale at the unit in the period.',
    formula: { numerator: ['customers_active'] },
  }),
  event({
    id: 'repeat_purchase_rate', zh: '复购率', en: 'Repeat purchase rate', unit: 'ratio', direction: 'higher',
    definition: 'Customers with two or more sales at the unit in the period ÷ customers with at least one.',
    formula: { numerator: ['customers_repeat'], denominator: ['customers_active'] },
  }),
  event({
    id: 'new_customer_growth', zh: '用户增长率', en: 'New-customer growth', unit: 'ratio', direction: 'higher',
    definition: 'Customers whose first sale at the unit (in all stored history) is in the period ÷ customers active at the unit in the previous period.',
    formula: { numerator: ['customers_new'], denominator: ['customers_previous'] },
  }),
  event({
    id: 'member_churn_rate', zh: '会员流失率', en: 'Member churn rate', unit: 'ratio', direction: 'lower',
    definition: 'Members (member_id) with a sale at the unit in the previous period and none in this period ÷ members with a sale there in the previous period.',
    formula: { numerator: ['members_lost'], denominator: ['members_previous'] },
  }),
  // ── orders ──
  event({
    id: 'orders_placed', zh: '订单量', en: 'Orders placed', unit: 'count', direction: 'higher',
    definition: 'Orders whose order.placed is in the period.',
    formula: { numerator: ['orders_placed'] },
  }),
  event({
    id: 'on_time_delivery_rate', zh: '准时交付率', en: 'On-time delivery rate', unit: 'ratio', direction: 'higher',
    definition: 'Orders delivered in the period (by delivery time) whose delivery time ≤ their promised time ÷ orders delivered in the period.',
    formula: { numerator: ['orders_on_time'], denominator: ['orders_delivered'] },
  }),
  event({
    id: 'cancellation_rate', zh: '订单取消率', en: 'Cancellation rate', unit: 'ratio', direction: 'lower',
    definition: 'Orders cancelled in the period ÷ orders placed in the period.',
    formula: { numerator: ['orders_cancelled'], denominator: ['orders_placed'] },
  }),
  event({
    id: 'order_processing_time', zh: '订单处理时效', en: 'Order processing time', unit: 'hours', direction: 'lower',
    definition: 'Mean hours from placed to shipped, over orders shipped in the period.',
    formula: { numerator: ['orders_processing_ms'], denominator: ['orders_processed'], scale: MS_TO_HOURS },
  }),
  event({
    id: 'order_processing_time_p90', zh: '订单处理时效（P90）', en: 'Order processing time, p90', unit: 'hours', direction: 'lower',
    definition: '90th percentile of hours from placed to shipped, over orders shipped in the period.',
    formula: { numerator: [], denominator: ['orders_processed'], statistic: 'orders_processing_p90_h' },
  }),
  event({
    id: 'order_cycle_time', zh: '订单履约周期', en: 'Order cycle time', unit: 'hours', direction: 'lower',
    definition: 'Mean hours from placed to delivered, over orders delivered in the period.',
    formula: { numerator: ['orders_cycle_ms'], denominator: ['orders_cycled'], scale: MS_TO_HOURS },
  }),
  event({
    id: 'order_cycle_time_p90', zh: '订单履约周期（P90）', en: 'Order cycle time, p90', unit: 'hours', direction: 'lower',
    definition: '90th percentile of hours from placed to delivered, over orders delivered in the period.',
    formula: { numerator: [], denominator: ['orders_cycled'], statistic: 'orders_cycle_p90_h' },
  }),
  // ── returns ──
  event({
    id: 'return_rate', zh: '退货率', en: 'Return rate (units)', unit: 'ratio', direction: 'lower',
    definition: 'Units received back in the period ÷ units sold in the period.',
    formula: { numerator: ['returns_units'], denominator: ['sales_units'] },
  }),
  event({
    id: 'return_amount_rate', zh: '退货金额率', en: 'Return rate (amount)', unit: 'ratio', direction: 'lower',
    definition: 'Value received back in the period ÷ sale line amounts in the period.',
    formula: { numerator: ['returns_amount_minor'], denominator: ['sales_net_minor'] },
  }),
  event({
    id: 'return_requests', zh: '退货申请数', en: 'Return requests', unit: 'count', direction: 'lower',
    definition: 'Return requests (return.requested) in the period.',
    formula: { numerator: ['returns_requested'] },
  }),
  event({
    id: 'refunds', zh: '退款金额', en: 'Refunds issued', unit: 'money', direction: 'lower',
    definition: 'Refunds issued in the period.',
    formula: { numerator: ['returns_refund_minor'], scale: MINOR_TO_MAJOR },
  }),
  // ── support tickets ──
  event({
    id: 'tickets_opened', zh: '工单量', en: 'Tickets opened', unit: 'count', direction: 'lower',
    definition: 'Tickets opened in the period.',
    formula: { numerator: ['tickets_opened'] },
  }),
  event({
    id: 'complaint_rate', zh: '客户投诉率', en: 'Complaint rate', unit: 'ratio', direction: 'lower',
    definition: 'Complaint tickets opened in the period ÷ orders placed in the period.',
    formula: { numerator: ['tickets_complaints'], denominator: ['orders_placed'] },
  }),
  event({
    id: 'csat', zh: '客户满意度', en: 'Customer satisfaction (CSAT)', unit: 'score', direction: 'higher',
    definition: 'Mean rating (1–5) of the ratings given in the period.',
    formula: { numerator: ['tickets_rating_sum'], denominator: ['tickets_ratings'] },
  }),
  event({
    id: 'csat_satisfied_share', zh: '满意率', en: 'Satisfied share', unit: 'ratio', direction: 'higher',
    definition: 'Ratings of 4 or 5 given in the period ÷ ratings given in the period.',
    formula: { numerator: ['tickets_ratings_good'], denominator: ['tickets_ratings'] },
  }),
  event({
    id: 'first_response_time', zh: '售后服务响应时间', en: 'First response time', unit: 'hours', direction: 'lower',
    definition: 'Mean hours from opened to first response, over tickets first answered in the period.',
    formula: { numerator: ['tickets_response_ms'], denominator: ['tickets_answered'], scale: MS_TO_HOURS },
  }),
  event({
    id: 'first_response_time_p90', zh: '售后服务响应时间（P90）', en: 'First response time, p90', unit: 'hours', direction: 'lower',
    definition: '90th percentile of hours from opened to first response, over tickets first answered in the period.',
    formula: { numerator: [], denominator: ['tickets_answered'], statistic: 'tickets_response_p90_h' },
  }),
  event({
    id: 'sla_attainment', zh: '服务时效达标率', en: 'First-response SLA attainment', unit: 'ratio', direction: 'higher',
    definition: 'Tickets first answered in the period within the SLA of their priority (urgent 1 h, high 4 h, normal 8 h, low 24 h) ÷ tickets first answered in the period.',
    formula: { numerator: ['tickets_answered_in_sla'], denominator: ['tickets_answered'] },
  }),
  event({
    id: 'resolution_time', zh: '问题解决时效', en: 'Resolution time', unit: 'hours', direction: 'lower',
    definition: 'Mean hours from opened to last resolution, over tickets whose last resolution is in the period.',
    formula: { numerator: ['tickets_resolution_ms'], denominator: ['tickets_resolved'], scale: MS_TO_HOURS },
  }),
  event({
    id: 'resolution_time_p90', zh: '问题解决时效（P90）', en: 'Resolution time, p90', unit: 'hours', direction: 'lower',
    definition: '90th percentile of hours from opened to last resolution, over tickets whose last resolution is in the period.',
    formula: { numerator: [], denominator: ['tickets_resolved'], statistic: 'tickets_resolution_p90_h' },
  }),
  event({
    id: 'reopen_rate', zh: '工单重开率', en: 'Reopen rate', unit: 'ratio', direction: 'lower',
    definition: 'Reopen events in the period ÷ resolution events in the period.',
    formula: { numerator: ['tickets_reopens'], denominator: ['tickets_resolutions'] },
  }),
  // ── manual inputs ──
  manual({ id: 'staff_turnover_rate', zh: '人员流失率', en: 'Staff turnover rate', unit: 'ratio', direction: 'lower', definition: 'Leavers ÷ headcount in the period (numerator and denominator may be imported).' }),
  manual({ id: 'key_staff_turnover_rate', zh: '关键人员流失率', en: 'Key-staff turnover rate', unit: 'ratio', direction: 'lower', definition: 'Key-staff leavers ÷ key-staff headcount in the period.' }),
  manual({ id: 'operating_cost_ratio', zh: '运营成本控制', en: 'Operating cost vs budget', unit: 'ratio', direction: 'lower', definition: 'Actual operating cost ÷ budget for the period.' }),
  manual({ id: 'account_accuracy', zh: '账目准确率', en: 'Account accuracy', unit: 'ratio', direction: 'higher', definition: 'Accurate accounts ÷ accounts checked (target 100%).' }),
  manual({ id: 'project_delivery_delay', zh: '项目交付时间', en: 'Project delivery delay', unit: 'days', direction: 'lower', definition: 'Mean days of actual delivery after the planned date over projects due in the period.' }),
  manual({ id: 'product_knowledge', zh: '产品知识', en: 'Product knowledge', unit: 'ratio', direction: 'higher', definition: 'Product-knowledge test score as a share of full marks (target 100%).' }),
  manual({ id: 'marketing_campaigns', zh: '营销活动', en: 'Marketing campaigns', unit: 'ratio', direction: 'higher', definition: 'Campaigns run as planned ÷ campaigns planned in the period.' }),
  manual({ id: 'store_image', zh: '店面形象', en: 'Store image', unit: 'score', direction: 'higher', definition: 'Store-image inspection score (0–100).' }),
  manual({ id: 'subordinate_management', zh: '下属管理', en: 'Subordinate management', unit: 'score', direction: 'higher', definition: 'Subordinate-management assessment score (0–100).' }),
  manual({ id: 'cross_department_satisfaction', zh: '部门协作满意度', en: 'Cross-department satisfaction', unit: 'score', direction: 'higher', definition: 'Survey score of cooperating departments (0–100).' }),
  manual({ id: 'learning_growth', zh: '学习与成长', en: 'Learning and growth', unit: 'score', direction: 'higher', definition: 'Training and development assessment score (0–100).' }),
  manual({ id: 'weekly_plan_completion', zh: '周计划完成率', en: 'Weekly plan completion', unit: 'ratio', direction: 'higher', definition: 'Weekly plan items completed ÷ planned in the period.' }),
  manual({ id: 'expansion_attainment', zh: '拓展目标达成率', en: 'Expansion target attainment', unit: 'ratio', direction: 'higher', definition: 'New stores opened ÷ the expansion target for the period.' }),
] as const satisfies readonly Kpi[];

export type KpiId = (typeof KPIS)[number]['id'];

export const KPI_IDS: readonly KpiId[] = KPIS.map((k) => k.id);

const BY_ID: ReadonlyMap<string, Kpi> = new Map(KPIS.map((k) => [k.id, k]));

export function isKpiId(id: string): id is KpiId {
  return BY_ID.has(id);
}

/** The KPI with this id; throws RangeError naming the known ids otherwise. */
export function kpiById(id: string): Kpi {
  const kpi = BY_ID.get(id);
  if (!kpi) throw new RangeError(`unknown KPI "${id}"; known: ${KPI_IDS.join(', ')}`);
  return kpi;
}

export const MANUAL_KPI_IDS: readonly KpiId[] = KPIS.filter((k) => k.kind === 'manual').map((k) => k.id);

/** KPIs a target can be imported for: the ones whose attainment is computed against it. */
export const TARGETED_KPI_IDS = ['net_sales', 'gross_profit'] as const satisfies readonly KpiId[];
