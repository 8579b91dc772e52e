import * as alerting from '@grafana/grafana-foundation-sdk/alerting';
import * as expr from '@grafana/grafana-foundation-sdk/expr';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import { stringify } from 'yaml';
import { DEFAULT_SCORECARDS } from '../schemas/scorecards/defaults.js';
import type { Band } from '../schemas/scorecards/index.js';
import { clickhouseQuery } from './clickhouse.js';
import { CLICKHOUSE, PROMETHEUS } from './datasources.js';

/**
 * Grafana alert rules as code, written by `kpi dashboards build` to
 * infra/grafana/provisioning/alerting/kpi-alerts.yaml, which Grafana loads at start.
 *
 * The rules are built with the SDK's alerting builders, whose types are the shape of Grafana's
 * HTTP provisioning API (folderUID, interval in seconds); `provisioningGroup` maps them to the
 * shape of a provisioning file (folder by title, interval as a duration), the only place that
 * knows both.
 *
 * Contact points and the notification policy are NOT provisioned: where alerts go (e-mail,
 * WeCom, a pager) is each deployment's choice, and a provisioned policy could not be edited in
 * the UI. Add your own contact point in Grafana (Alerting → Contact points) and route to it
 * from the default policy, or match the labels these rules carry (`component`, `severity`).
 *
 * Every ClickHouse query reads only what the read-only reader may read (the documented views,
 * dead_letters), runs as it is — no Grafana macro — and returns string columns (the labels of
 * an alert instance) and exactly one numeric column: Grafana alerts on such a table row by
 * row. Strings in titles, labels and annotations never hold a `$`: Grafana expands `$NAME` in
 * provisioning files from its environment, so the templates use `.Labels` and `.Values`.
 */

/** Grafana's server-side expressions, as a datasource. */
const EXPRESSION = { type: '__expr__', uid: '__expr__' } as const;

/** Organisation the rules belong to: Grafana's first, the one docker-compose.yml uses. */
const ORG_ID = 1;

/**
 * Folder (title) of the rules. Not the dashboards' "KPI": Grafana provisions alert rules
 * before dashboards, and two provisioners creating one folder by title can end with two.
 */
export const ALERT_FOLDER = 'KPI alerts';

/** Seconds between evaluations of the pipeline's rules (dead letters, ingest): minutes matter. */
const PIPELINE_INTERVAL_SECONDS = 60;

/** Seconds between evaluations of the business rules (closes, bands): they change at most once a close. */
const BUSINESS_INTERVAL_SECONDS = 300;

/**
 * Minutes of dead letters counted together. Long enough that one bad batch of a producer
 * stands out from a single malformed message, short enough to page while the producer is
 * still sending them.
 */
export const DEAD_LETTER_WINDOW_MINUTES = 15;

/**
 * Dead letters of one source topic within the window above which it fires. A healthy
 * producer sends none; a few a day come from hand-made or replayed messages, while a producer
 * that shipped a broken schema sends one per event.
 */
export const DEAD_LETTER_THRESHOLD = 50;

/**
 * Minutes without progress after which ingest counts as stalled: paused (ClickHouse or Kafka
 * unreachable) the whole time, not scraped (down) the whole time, or behind the partitions'
 * high watermark without consuming a batch. Retries back off for well under this.
 */
export const INGEST_STALL_MINUTES = 10;

/**
 * Hour (0-23, in the business time zone) by which yesterday must be closed. A day closes at
 * midnight plus KPI_CLOSE_GRACE_SECONDS (15 min) and ingest catching up; two hours leave room
 * for a slow close without letting a stuck one go unnoticed until the office opens.
 */
export const CLOSE_DEADLINE_HOUR = 2;

/**
 * Days back (from the last day that is due) in which a day left unclosed still fires, so a
 * missed close does not resolve itself at the next midnight. Only days on or after the first
 * day the pipeline ever closed count: a new installation has no backlog to alert on.
 */
export const CLOSE_LOOKBACK_DAYS = 7;

/**
 * Grains whose scorecards alert when a unit lands in the lowest band. Not days: one bad day
 * does not rate a store manager, and its scorecard is on the dashboards.
 */
export const BAND_ALERT_GRAINS = ['week', 'month', 'quarter', 'year'] as const;

/** The Prometheus job (infra/prometheus/prometheus.yml) that scrapes `kpi ingest`. */
export const INGEST_JOB = 'kpi-ingest';

export interface AlertOptions {
  /** IANA zone in which business days begin (KPI_TIME_ZONE). @default 'Asia/Shanghai' */
  timeZone?: string;
  /** Rating bands of the scorecards in force (KPI_SCORECARDS_FILE). @default the built-in bands (A, B, C, D) */
  bands?: readonly Band[];
}

/** One query or expression of a rule, as a provisioning file holds it. */
export interface ProvisionedQuery {
  refId: string;
  datasourceUid: string;
  /** Seconds before now that the query covers. */
  relativeTimeRange?: { from: number; to: number };
  model: Record<string, unknown>;
}

/** One alert rule, as a provisioning file holds it. */
export interface ProvisionedRule {
  uid: string;
  title: string;
  /** refId of the query or expression whose result decides the state. */
  condition: string;
  data: ProvisionedQuery[];
  noDataState: alerting.Rule['noDataState'];
  execErrState: alerting.Rule['execErrState'];
  /** How long the condition must hold before the alert fires (a duration: 0s, 5m). */
  for: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  isPaused: boolean;
}

export interface ProvisionedRuleGroup {
  orgId: number;
  name: string;
  /** Folder title (Grafana creates it when missing). */
  folder: string;
  /** Evaluation interval, a duration (60s). */
  interval: string;
  rules: ProvisionedRule[];
}

/** The content of a provisioning file for alert rules (provisioning/alerting/*.yaml). */
export interface AlertProvisioningFile {
  apiVersion: 1;
  groups: ProvisionedRuleGroup[];
}

/** A time zone fit to stand in SQL as a literal: a real IANA zone, of the characters zones use. */
function checkedTimeZone(zone: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone)) throw new RangeError(`timeZone must be an IANA time zone such as Asia/Shanghai (got ${JSON.stringify(zone)})`);
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    throw new RangeError(`timeZone ${JSON.stringify(zone)} is not an IANA time zone`);
  }
  return zone;
}

/**
 * The lowest band and the score at which the next one begins: a score reaches the lowest band
 * (bandOf in schemas/scorecards) exactly when it is below that.
 */
function lowestBand(bands: readonly Band[]): { name: string; below: number } {
  const rising = [...bands].sort((a, b) => a.min - b.min);
  const [lowest, next] = rising;
  if (!lowest || !next) throw new RangeError('the lowest-band alert needs at least two rating bands');
  return { name: lowest.name, below: next.min };
}

/** A SQL string literal of a value made here (a grain, a zone), never of input. */
const literal = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Scored units of each grain's latest closed period: the lowest band is a score below its ceiling. */
export function lowestBandSql(): string {
  return [
    'SELECT',
    '    s.grain AS grain,',
    '    s.period AS period,',
    '    s.scorecard AS scorecard,',
    '    s.peer_group AS peer_group,',
    '    s.unit AS unit,',
    '    s.score AS score',
    'FROM v_scorecards AS s',
    `WHERE s.grain IN (${BAND_ALERT_GRAINS.map(literal).join(', ')})`,
    '  AND s.score IS NOT NULL',
    '  AND (s.grain, s.period) IN (',
    '      SELECT p.grain, argMax(p.period, p.period_start)',
    '      FROM v_periods AS p',
    "      WHERE p.current_state IN ('closed', 'approved')",
    '      GROUP BY p.grain',
    '  )',
  ].join('\n');
}

/** Dead letters stored in the window, per source topic; no row for a topic without any. */
export function deadLettersSql(): string {
  return [
    'SELECT',
    '    d.topic AS topic,',
    '    count() AS dead_letters',
    'FROM dead_letters AS d FINAL',
    `WHERE d.received_at >= now64(3) - INTERVAL ${DEAD_LETTER_WINDOW_MINUTES} MINUTE`,
    'GROUP BY d.topic',
  ].join('\n');
}

/**
 * Each due day of the lookback since the first closed day, with 1 when it has no closed or
 * approved revision. A day is due from CLOSE_DEADLINE_HOUR on the next day, in the business
 * time zone (the store does not know KPI_TIME_ZONE; the rule says it).
 */
export function overdueDaysSql(timeZone: string): string {
  return [
    'WITH',
    `    ${literal(checkedTimeZone(timeZone))} AS tz,`,
    `    toDate(now(), tz) - if(toHour(now(), tz) >= ${CLOSE_DEADLINE_HOUR}, 1, 2) AS last_due`,
    'SELECT',
    "    'day' AS grain,",
    `    toString(last_due - arrayJoin(range(${CLOSE_LOOKBACK_DAYS}))) AS period,`,
    '    toUInt8(period NOT IN (',
    "        SELECT p.period FROM v_periods AS p WHERE p.grain = 'day' AND p.current_state IN ('closed', 'approved')",
    '    )) AS overdue',
    "WHERE toDate(period) >= (SELECT minOrNull(toDate(f.period)) FROM v_periods AS f WHERE f.grain = 'day')",
  ].join('\n');
}

/**
 * 1 per reason ingest is stalled (paused, down, behind), 0 while it is not. Only the ingest
 * job: kpi-worker and kpi-api export the same metric names without ingesting.
 */
export function ingestStalledPromQl(): string {
  const job = `job="${INGEST_JOB}"`;
  const window = `[${INGEST_STALL_MINUTES}m]`;
  return [
    'max by (reason) (',
    `    label_replace(min_over_time(kpi_ingest_paused{${job}}${window}), "reason", "paused", "", "")`,
    '  or',
    `    label_replace(1 - max_over_time(up{${job}}${window}), "reason", "down", "", "")`,
    '  or',
    '    label_replace(',
    `      (sum(kpi_ingest_consumer_lag{${job}}) > bool 0) * (sum(increase(kpi_ingest_batch_messages_count{${job}}${window})) == bool 0),`,
    '      "reason", "behind", "", ""',
    '    )',
    ')',
  ].join('\n');
}

/** Query A of a rule: ClickHouse SQL, as the dashboards' panels send it (a table). */
function clickhouseData(rawSql: string, seconds: number): alerting.QueryBuilder {
  return new alerting.QueryBuilder('A').datasourceUid(CLICKHOUSE.uid).relativeTimeRange({ from: seconds, to: 0 }).model(clickhouseQuery(rawSql, { refId: 'A' }));
}

/** Query A of a rule: an instant PromQL query, one number per series. */
function prometheusData(promql: string, seconds: number): alerting.QueryBuilder {
  const query = new prometheus.DataqueryBuilder().refId('A').datasource({ type: PROMETHEUS.type, uid: PROMETHEUS.uid }).expr(promql).instant();
  return new alerting.QueryBuilder('A').datasourceUid(PROMETHEUS.uid).relativeTimeRange({ from: seconds, to: 0 }).model(query);
}

/** Expression B: fires for each number of `input` that passes the evaluator. */
function threshold(input: string, type: 'gt' | 'lt', value: number): alerting.QueryBuilder {
  const model = new expr.TypeThresholdBuilder()
    .refId('B')
    .datasource(EXPRESSION)
    .expression(input)
    .conditions([{ evaluator: { params: [value], type } }]);
  return new alerting.QueryBuilder('B').datasourceUid(EXPRESSION.uid).model(model);
}

/** A title in both languages of the product, Chinese first, as the dashboards' titles. */
const bilingual = (zh: string, en: string): string => `${zh} · ${en}`;

function lowestBandRule(bands: readonly Band[]): alerting.RuleBuilder {
  const band = lowestBand(bands);
  return new alerting.RuleBuilder(bilingual('评分落入最低档', 'Unit scored in the lowest band'))
    .uid('kpi-scorecard-lowest-band')
    .queries([clickhouseData(lowestBandSql(), BUSINESS_INTERVAL_SECONDS), threshold('A', 'lt', band.below)])
    .condition('B')
    // A closed period's score changes only with a restatement: no need to wait.
    .forDuration('0s')
    // No scored unit in a latest period is nothing to report.
    .noDataState('OK')
    .execErrState('Error')
    .labels({ component: 'scorecards', severity: 'warning' })
    .annotations({
      summary: `{{ .Labels.unit }} scored {{ .Values.A }} on {{ .Labels.scorecard }} for {{ .Labels.period }}: band ${band.name} (below ${band.below})`,
      description: `The latest closed ${BAND_ALERT_GRAINS.join(', ')} scorecards (v_scorecards) put {{ .Labels.unit }} of {{ .Labels.peer_group }} in the lowest rating band, ${band.name}. v_scorecard_lines shows which KPI lines lost the points.`,
    });
}

function deadLetterRule(): alerting.RuleBuilder {
  return new alerting.RuleBuilder(bilingual('死信激增', 'Dead-letter spike'))
    .uid('kpi-dead-letter-spike')
    .queries([clickhouseData(deadLettersSql(), DEAD_LETTER_WINDOW_MINUTES * 60), threshold('A', 'gt', DEAD_LETTER_THRESHOLD)])
    .condition('B')
    // The window already spans DEAD_LETTER_WINDOW_MINUTES.
    .forDuration('0s')
    // No dead letter at all: no row.
    .noDataState('OK')
    .execErrState('Error')
    .labels({ component: 'ingest', severity: 'warning' })
    .annotations({
      summary: `{{ .Values.A }} messages of {{ .Labels.topic }} set aside in ${DEAD_LETTER_WINDOW_MINUTES} minutes (more than ${DEAD_LETTER_THRESHOLD})`,
      description: 'A producer of {{ .Labels.topic }} sends messages that fail validation. dead_letters holds each one with its reason_code and reason; the events are not in the KPIs until they are sent again, valid.',
    });
}

function ingestStalledRule(): alerting.RuleBuilder {
  return new alerting.RuleBuilder(bilingual('数据接入停滞', 'Ingest stalled'))
    .uid('kpi-ingest-stalled')
    .queries([prometheusData(ingestStalledPromQl(), INGEST_STALL_MINUTES * 60), threshold('A', 'gt', 0)])
    .condition('B')
    // The query's windows already span INGEST_STALL_MINUTES.
    .forDuration('0s')
    // No metric of the ingest job at all is no sign of progress either.
    .noDataState('Alerting')
    .execErrState('Error')
    .labels({ component: 'ingest', severity: 'critical' })
    .annotations({
      summary: `Ingest has made no progress for ${INGEST_STALL_MINUTES} minutes ({{ .Labels.reason }})`,
      description:
        'paused: kpi ingest waits for ClickHouse or Kafka (kpi_ingest_paused); down: Prometheus cannot scrape kpi-ingest; behind: messages wait in Kafka (kpi_ingest_consumer_lag) but no batch was consumed. Period closes wait for ingest, so they stall too.',
    });
}

function closeOverdueRule(timeZone: string): alerting.RuleBuilder {
  return new alerting.RuleBuilder(bilingual('日结逾期', 'Day close overdue'))
    .uid('kpi-day-close-overdue')
    .queries([clickhouseData(overdueDaysSql(timeZone), BUSINESS_INTERVAL_SECONDS), threshold('A', 'gt', 0)])
    .condition('B')
    // The deadline is already CLOSE_DEADLINE_HOUR after the day's end.
    .forDuration('0s')
    .noDataState('OK')
    .execErrState('Error')
    .labels({ component: 'close', severity: 'critical' })
    .annotations({
      summary: `Day {{ .Labels.period }} is not closed by ${String(CLOSE_DEADLINE_HOUR).padStart(2, '0')}:00 (${timeZone}) of the next day`,
      description:
        'v_periods has no closed or approved revision of the day. Is the worker running and are the Schedules applied (kpi schedules apply)? A close waits for ingest to pass the day end (see the ingest alert); kpi periods shows its state, and kpi close --grain day --period <day> runs it.',
    });
}

/** The SDK's rule group (HTTP API shape) as a provisioning file's group. */
function provisioningGroup(group: alerting.RuleGroup, folder: string): ProvisionedRuleGroup {
  const { title, interval, rules = [] } = group;
  if (!title || interval === undefined) throw new Error('a rule group needs a title and an interval');
  return {
    orgId: ORG_ID,
    name: title,
    folder,
    interval: `${interval}s`,
    rules: rules.map((rule) => {
      if (!rule.uid) throw new Error(`rule ${rule.title} needs a uid`);
      return {
        uid: rule.uid,
        title: rule.title,
        condition: rule.condition,
        data: rule.data.map((query) => {
          if (!query.refId || !query.datasourceUid || !query.model) throw new Error(`rule ${rule.title}: a query needs a refId, a datasource uid and a model`);
          const { from = 0, to = 0 } = query.relativeTimeRange ?? {};
          return {
            refId: query.refId,
            datasourceUid: query.datasourceUid,
            ...(query.relativeTimeRange ? { relativeTimeRange: { from, to } } : {}),
            // Plain data: the SDK's models carry a marker method that is no JSON.
            model: JSON.parse(JSON.stringify(query.model)) as Record<string, unknown>,
          };
        }),
        noDataState: rule.noDataState,
        execErrState: rule.execErrState,
        for: rule.for,
        annotations: rule.annotations ?? {},
        labels: rule.labels ?? {},
        isPaused: rule.isPaused ?? false,
      };
    }),
  };
}

/** The provisioning file's content: every rule group of the pipeline. */
export function alertRuleGroups(options: AlertOptions = {}): AlertProvisioningFile {
  const timeZone = options.timeZone ?? 'Asia/Shanghai';
  const bands = options.bands ?? DEFAULT_SCORECARDS.bands;
  const pipeline = new alerting.RuleGroupBuilder('kpi-pipeline').interval(PIPELINE_INTERVAL_SECONDS).rules([deadLetterRule(), ingestStalledRule()]);
  const business = new alerting.RuleGroupBuilder('kpi-closes-and-scorecards').interval(BUSINESS_INTERVAL_SECONDS).rules([closeOverdueRule(timeZone), lowestBandRule(bands)]);
  return { apiVersion: 1, groups: [pipeline, business].map((group) => provisioningGroup(group.build(), ALERT_FOLDER)) };
}

/** Every ClickHouse query of every rule, by rule uid: what a test runs against a warehouse. */
export function alertQueries(options: AlertOptions = {}): { rule: string; refId: string; rawSql: string }[] {
  return alertRuleGroups(options).groups.flatMap((group) =>
    group.rules.flatMap((rule) =>
      rule.data
        .filter((query) => query.datasourceUid === CLICKHOUSE.uid)
        .map((query) => {
          const { rawSql } = query.model;
          if (typeof rawSql !== 'string') throw new Error(`rule ${rule.uid}: ClickHouse query ${query.refId} has no rawSql`);
          return { rule: rule.uid, refId: query.refId, rawSql };
        }),
    ),
  );
}

/** Where `kpi dashboards build` writes alertRulesYaml(), relative to the project root. */
/** Where the alert rules are written, relative to the Grafana folder (infra/grafana). */
export const ALERT_RULES_FILE = 'provisioning/alerting/kpi-alerts.yaml';

/** The provisioning file for the alert rules, with a header saying where it comes from. */
export function alertRulesYaml(options: AlertOptions = {}): string {
  const header = [
    'GENERATED by `kpi dashboards build` from dashboards/alerts.ts: do not edit; change the',
    'rules there and build again.',
    'Grafana loads these alert rules at start. Contact points and the notification policy are',
    'not provisioned: add your own in Grafana (Alerting) and route the labels component and',
    'severity to it.',
  ];
  return `${header.map((line) => `# ${line}`).join('\n')}\n${stringify(alertRuleGroups(options), { lineWidth: 0 })}`;
}
