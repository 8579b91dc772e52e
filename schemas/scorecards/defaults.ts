import type { ScorecardConfigInput } from './index.js';

/**
 * The scorecards of the source document (KPI-DIGEST §3), with targets from its text where it
 * gives one (sales ≥ 100% of target, staff turnover ≤ 1%, member churn ≤ 5%, account
 * accuracy and product knowledge 100%). Where the source is silent or truncated the choice is
 * ours and said so: the regional manager's card after "sales task 40" is cut off in the
 * source, and the customer-service and fulfilment cards are built from its service-quality
 * and group-operations lists.
 */
export const DEFAULT_SCORECARDS = {
  bands: [
    { name: 'A', min: 90 },
    { name: 'B', min: 75 },
    { name: 'C', min: 60 },
    { name: 'D', min: 0 },
  ],
  scorecards: [
    {
      id: 'operations_department',
      zh: '运营部',
      en: 'Operations department',
      level: 'region',
      lines: [
        { kpi: 'sales_attainment', weight: 40, target: 1 },
        { kpi: 'csat', weight: 20, target: 4.5, rule: 'linear', floor: 3 },
        { kpi: 'first_response_time', weight: 15, target: 2, rule: 'linear', floor: 12 },
        { kpi: 'operating_cost_ratio', weight: 15, target: 1 },
        { kpi: 'project_delivery_delay', weight: 10, target: 0, rule: 'linear', floor: 10 },
      ],
    },
    {
      id: 'store_manager',
      zh: '店长',
      en: 'Store manager',
      level: 'store',
      lines: [
        { kpi: 'sales_attainment', weight: 70, target: 1 },
        { kpi: 'staff_turnover_rate', weight: 10, target: 0.01, rule: 'linear', floor: 0.05 },
        { kpi: 'account_accuracy', weight: 5, target: 1, rule: 'linear', floor: 0.9 },
        { kpi: 'product_knowledge', weight: 5, target: 1 },
        { kpi: 'member_churn_rate', weight: 10, target: 0.05, rule: 'linear', floor: 0.5 },
      ],
    },
    {
      id: 'sales_department_manager',
      zh: '销售部经理',
      en: 'Sales department manager',
      level: 'region',
      lines: [
        { kpi: 'profit_attainment', weight: 20, target: 1 },
        { kpi: 'marketing_campaigns', weight: 15, target: 1 },
        { kpi: 'sales_attainment', weight: 20, target: 1 },
        { kpi: 'store_image', weight: 6, target: 100 },
        { kpi: 'operating_cost_ratio', weight: 10, target: 1 },
        { kpi: 'subordinate_management', weight: 2, target: 100 },
        { kpi: 'key_staff_turnover_rate', weight: 2, target: 0.01, rule: 'linear', floor: 0.1 },
        { kpi: 'cross_department_satisfaction', weight: 5, target: 100 },
        { kpi: 'learning_growth', weight: 5, target: 100 },
        { kpi: 'weekly_plan_completion', weight: 15, target: 1 },
      ],
    },
    {
      id: 'regional_manager',
      zh: '区域经理',
      en: 'Regional manager',
      level: 'region',
      lines: [
        { kpi: 'sales_attainment', weight: 40, target: 1 },
        { kpi: 'expansion_attainment', weight: 20, target: 1 },
        { kpi: 'on_time_delivery_rate', weight: 15, target: 0.95, rule: 'linear', floor: 0.7 },
        { kpi: 'csat', weight: 15, target: 4.5, rule: 'linear', floor: 3 },
        { kpi: 'member_churn_rate', weight: 10, target: 0.05, rule: 'linear', floor: 0.5 },
      ],
    },
    {
      id: 'customer_service',
      zh: '客户服务',
      en: 'Customer service',
      level: 'store',
      lines: [
        { kpi: 'csat', weight: 30, target: 4.5, rule: 'linear', floor: 3 },
        { kpi: 'complaint_rate', weight: 25, target: 0.02, rule: 'linear', floor: 0.2 },
        { kpi: 'first_response_time', weight: 20, target: 2, rule: 'linear', floor: 12 },
        { kpi: 'sla_attainment', weight: 15, target: 0.95, rule: 'linear', floor: 0.5 },
        { kpi: 'reopen_rate', weight: 10, target: 0.05, rule: 'linear', floor: 0.3 },
      ],
    },
    {
      id: 'fulfilment',
      zh: '履约',
      en: 'Fulfilment',
      level: 'store',
      lines: [
        { kpi: 'on_time_delivery_rate', weight: 40, target: 0.95, rule: 'linear', floor: 0.7 },
        { kpi: 'order_processing_time', weight: 20, target: 6, rule: 'linear', floor: 36 },
        { kpi: 'cancellation_rate', weight: 15, target: 0.02, rule: 'linear', floor: 0.1 },
        { kpi: 'return_rate', weight: 15, target: 0.02, rule: 'linear', floor: 0.15 },
        { kpi: 'order_cycle_time', weight: 10, target: 48, rule: 'linear', floor: 168 },
      ],
    },
  ],
} as const satisfies ScorecardConfigInput;
