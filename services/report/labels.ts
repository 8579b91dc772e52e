import type { KpiUnit } from '../../schemas/kpis/catalog.js';
import { formatKpiValue } from '../../schemas/kpis/format.js';

/**
 * The review pack's words in its two languages, and how its numbers and instants read. KPI
 * and scorecard names come from the catalog and the scorecards (their zh and en labels);
 * everything else a page says is here.
 */

export const LANGS = ['zh', 'en'] as const;
export type Lang = (typeof LANGS)[number];

const EN = {
  title: 'Quarterly review pack',
  quarter: 'Quarter',
  dates: 'Dates',
  revisionShown: 'Revision shown',
  state: 'State',
  approvedBy: 'Approved by',
  approvedAt: 'Approved at',
  approvalComment: 'Comment',
  notApproved: 'not approved',
  forced: 'closed with --force (not waiting for the period end or ingest)',
  pending: (n: number) => `Revision ${n}, a restatement, awaits approval; this pack shows the approved revision.`,
  states: { approved: 'approved by finance', closed: 'closed, awaiting approval', pending: 'approved; a restatement awaits approval' } as Record<string, string>,
  generated: 'Generated at',
  generatedNote: 'the only line that differs between two packs of the same revision',
  contents: 'Contents',
  headline: 'Headline KPIs',
  headlineNote: (previous: string) => `Company values of the revision shown; previous quarter: ${previous}. Charts: each region, this quarter against the previous one and its target.`,
  kpi: 'KPI',
  value: 'Value',
  target: 'Target',
  attainment: 'vs target',
  previous: 'Previous quarter',
  change: 'Change',
  targetFrom: { import: 'imported', scorecard: 'scorecard' } as Record<string, string>,
  notClosed: (q: string) => `${q} not closed`,
  thisQuarter: 'This quarter',
  scorecard: 'Scorecard',
  level: 'Level',
  rankedWithin: { parent: 'ranked within the parent unit (stores within their region)', level: 'ranked across the whole level' } as Record<string, string>,
  peerGroup: 'Peer group',
  rank: 'Rank',
  unit: 'Unit',
  score: 'Score',
  band: 'Band',
  missing: 'Missing',
  missingValue: 'missing',
  weight: 'weight',
  rule: { achievement: 'value ÷ target', linear: 'linear from floor' } as Record<string, string>,
  bands: 'Bands',
  linesNote: 'Each line: value, then points earned of its weight.',
  restatements: 'Restatements since first reported',
  restatementsNone: 'Not restated: the values are as first reported.',
  restatementsNote: (more: string) => `Company values per KPI, as first reported → each later revision; the units changed at each level. Every unit's change: ${more}.`,
  revision: 'Revision',
  revisionState: { approved: 'approved', closed: 'current', pending: 'awaits approval', superseded: 'superseded', discarded: 'discarded' } as Record<string, string>,
  asReported: 'As first reported',
  unitsChanged: 'Units changed',
  valuesChanged: 'Values changed',
  inputs: 'Targets and inputs used',
  inputsNote: (revision: number) => `What revision ${revision} read: of each KPI and unit the latest import recorded before it began reading.`,
  inputsNone: 'No targets or manual inputs were imported for this quarter.',
  importId: 'Import',
  kind: 'Kind',
  kinds: { targets: 'targets', inputs: 'manual inputs' } as Record<string, string>,
  importedBy: 'Imported by',
  importedAt: 'Imported at',
  source: 'Source',
  rows: 'Rows',
  later: 'Imported after this revision was computed (they count from the next restatement)',
  audit: 'Audit trail',
  auditNote: 'Every transition of the quarter and its months in period_audit (hash-chained: kpi audit verify).',
  at: 'At',
  period: 'Period',
  action: 'Action',
  actor: 'Who',
  comment: 'Comment',
  seq: 'Seq',
  company: 'Company',
  levels: { company: 'company', region: 'region', store: 'store', department: 'department', channel: 'channel' } as Record<string, string>,
};

type Words = typeof EN;

const ZH: Words = {
  title: '季度经营评审报告',
  quarter: '季度',
  dates: '日期',
  revisionShown: '所示版本',
  state: '状态',
  approvedBy: '批准人',
  approvedAt: '批准时间',
  approvalComment: '批准意见',
  notApproved: '未批准',
  forced: '强制关账（未等待期末或数据接入）',
  pending: (n: number) => `重述版本 ${n} 待批准；本报告显示已批准的版本。`,
  states: { approved: '财务已批准', closed: '已关账，待批准', pending: '已批准；重述待批准' },
  generated: '生成时间',
  generatedNote: '同一版本的两份报告仅此行不同',
  contents: '目录',
  headline: '核心指标',
  headlineNote: (previous: string) => `公司层面，所示版本的数值；上季度：${previous}。图表：各区域本季度与上季度及其目标对比。`,
  kpi: '指标',
  value: '数值',
  target: '目标',
  attainment: '达成率',
  previous: '上季度',
  change: '变化',
  targetFrom: { import: '导入', scorecard: '记分卡' },
  notClosed: (q: string) => `${q} 未关账`,
  thisQuarter: '本季度',
  scorecard: '记分卡',
  level: '层级',
  rankedWithin: { parent: '在上级单位内排名（门店在所属区域内）', level: '在整个层级内排名' },
  peerGroup: '排名范围',
  rank: '排名',
  unit: '单位',
  score: '总分',
  band: '等级',
  missing: '缺失指标',
  missingValue: '缺失',
  weight: '权重',
  rule: { achievement: '实际 ÷ 目标', linear: '自下限线性计分' },
  bands: '等级划分',
  linesNote: '每项：数值，及其权重中所得分数。',
  restatements: '首次报告以来的重述',
  restatementsNone: '未重述：数值与首次报告一致。',
  restatementsNote: (more: string) => `各指标的公司数值：首次报告 → 其后各版本；以及各层级变化的单位数。各单位的变化：${more}。`,
  revision: '版本',
  revisionState: { approved: '已批准', closed: '当前', pending: '待批准', superseded: '已被取代', discarded: '已弃用' },
  asReported: '首次报告',
  unitsChanged: '变化单位数',
  valuesChanged: '变化数值数',
  inputs: '所用目标与手工录入',
  inputsNote: (revision: number) => `版本 ${revision} 所读取的数据：每个指标和单位取其开始读取前最后一次导入的值。`,
  inputsNone: '本季度未导入目标或手工录入。',
  importId: '导入',
  kind: '类型',
  kinds: { targets: '目标', inputs: '手工录入' },
  importedBy: '导入人',
  importedAt: '导入时间',
  source: '来源',
  rows: '行数',
  later: '本版本计算之后的导入（自下次重述起生效）',
  audit: '审计记录',
  auditNote: '本季度及其各月在 period_audit 中的每次状态变化（哈希链：kpi audit verify）。',
  at: '时间',
  period: '期间',
  action: '操作',
  actor: '操作人',
  comment: '说明',
  seq: '序号',
  company: '公司',
  levels: { company: '公司', region: '区域', store: '门店', department: '部门', channel: '渠道' },
};

export const WORDS: Record<Lang, Words> = { en: EN, zh: ZH };

/** How a value reads in its KPI's unit; the same rules as `kpi values` prints. */
export function formatValue(unit: KpiUnit, value: number | null, lang: Lang): string {
  return formatKpiValue(unit, value, WORDS[lang].missingValue);
}

/** A change from `from` to `to`: percentage points for ratios, else relative, signed. */
export function formatChange(unit: KpiUnit, from: number | null, to: number | null): string {
  if (from === null || to === null) return '—';
  const sign = (v: number): string => (v > 0 ? '+' : v < 0 ? '−' : '±');
  if (unit === 'ratio') return `${sign(to - from)}${Math.abs((to - from) * 100).toFixed(2)} pp`;
  if (from === 0) return '—';
  const relative = (to - from) / Math.abs(from);
  return `${sign(relative)}${Math.abs(relative * 100).toFixed(1)}%`;
}

/**
 * A stored instant (UTC, `YYYY-MM-DD hh:mm:ss.mmm`) as the business reads it: local date and
 * time to the second in `timeZone`, with the zone named. Deterministic: no locale of the host.
 */
export function formatInstant(utc: string, timeZone: string): string {
  const ms = Date.parse(`${utc.replace(' ', 'T')}Z`);
  if (!Number.isFinite(ms)) return utc;
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(ms);
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')} ${timeZone}`;
}
