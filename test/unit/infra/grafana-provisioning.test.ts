import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { ALERT_RULES_FILE, alertQueries, alertRuleGroups, alertRulesYaml } from '../../../dashboards/alerts.js';
import { CLICKHOUSE, PROMETHEUS } from '../../../dashboards/datasources.js';
import { loadConfig } from '../../../services/shared/config.js';

// Everything Grafana reads from infra/grafana/provisioning at start, checked by reading it:
// no Grafana runs here, so what it would refuse, or quietly get wrong, is found out here.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PROVISIONING = path.join(ROOT, 'infra/grafana/provisioning');
const DASHBOARDS = path.join(ROOT, 'infra/grafana/dashboards');

/** Grafana's own datasources, which no file provisions. */
const BUILT_IN = new Set(['grafana', '-- Grafana --', '-- Mixed --', '-- Dashboard --', '__expr__']);
/** Server-side expressions: a rule's math, reduce and threshold steps. */
const EXPRESSION_UID = '__expr__';
/** A duration as Grafana parses one (Prometheus's syntax): 0s, 90s, 1h30m. */
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** Every file under a folder, as paths relative to it, sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

const readYaml = (relative: string): unknown => parse(readFileSync(path.join(PROVISIONING, relative), 'utf8'));

/** Grafana's expansion of `$VAR` and `${VAR}` in provisioning files (`$$` is a literal `$`). */
function grafanaExpand(text: string, env: Record<string, string>): string {
  return text
    .split('$$')
    .map((part) => part.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, braced: string | undefined, bare: string | undefined) => env[braced ?? bare ?? ''] ?? ''))
    .join('$');
}

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`, enough for the grafana service. */
function composeExpand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op: string | undefined, arg: string | undefined) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (op === '?') throw new Error(`docker compose: required variable ${name} is missing a value`);
    return op === '-' ? (arg ?? '') : '';
  });
}

const Datasource = z.object({
  name: z.string().min(1),
  type: z.string().min(1),
  uid: z.string().min(1),
  url: z.string().optional(),
  isDefault: z.boolean().optional(),
  jsonData: z.record(z.string(), z.unknown()).default({}),
  secureJsonData: z.record(z.string(), z.string()).optional(),
});
const DatasourceFile = z.object({ apiVersion: z.literal(1), datasources: z.array(Datasource).min(1) });

const Query = z
  .object({
    refId: z.string().min(1),
    datasourceUid: z.string().min(1),
    relativeTimeRange: z.object({ from: z.number().int().nonnegative(), to: z.number().int().nonnegative() }).optional(),
    model: z.record(z.string(), z.unknown()),
  })
  .strict();
const Rule = z
  .object({
    uid: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'at most 40 letters, digits, - and _'),
    title: z.string().min(1).max(190),
    condition: z.string().min(1),
    data: z.array(Query).min(1),
    noDataState: z.enum(['OK', 'NoData', 'Alerting', 'KeepLast']),
    execErrState: z.enum(['OK', 'Error', 'Alerting', 'KeepLast']),
    for: z.string().regex(DURATION),
    annotations: z.record(z.string(), z.string()),
    labels: z.record(z.string(), z.string()),
    isPaused: z.boolean(),
  })
  .strict();
const AlertFile = z
  .object({
    apiVersion: z.literal(1),
    groups: z
      .array(z.object({ orgId: z.number().int().positive(), name: z.string().min(1), folder: z.string().min(1), interval: z.string().regex(DURATION), rules: z.array(Rule).min(1) }).strict())
      .min(1),
  })
  .strict();
const DashboardProviderFile = z.object({
  apiVersion: z.literal(1),
  providers: z.array(z.object({ name: z.string(), folder: z.string(), options: z.object({ path: z.string(), foldersFromFilesStructure: z.boolean().optional() }) })).min(1),
});

/** Every `datasource: { uid }` a dashboard JSON names, with its type when given. */
function datasourceRefs(node: unknown, out: { uid: string; type?: string | undefined }[] = []): { uid: string; type?: string | undefined }[] {
  if (Array.isArray(node)) {
    for (const item of node) datasourceRefs(item, out);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'datasource' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const { uid, type } = value as { uid?: unknown; type?: unknown };
        if (typeof uid === 'string') out.push({ uid, type: typeof type === 'string' ? type : undefined });
      }
      datasourceRefs(value, out);
    }
  }
  return out;
}

/** refIds an expression reads: `expression` of reduce, threshold and resample; `$A`/`${A}` of math; classic conditions' queries. */
function expressionInputs(model: Record<string, unknown>): string[] {
  const expression = typeof model['expression'] === 'string' ? model['expression'] : '';
  switch (model['type']) {
    case 'math':
      return [...expression.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g)].map((m) => m[1] ?? '');
    case 'reduce':
    case 'threshold':
    case 'resample':
      return [expression];
    case 'classic_conditions':
      return z.array(z.object({ query: z.object({ params: z.array(z.string()).min(1) }) })).parse(model['conditions']).map((c) => c.query.params[0] ?? '');
    default:
      throw new Error(`unknown expression type ${String(model['type'])}`);
  }
}

const files = filesUnder(PROVISIONING);
const datasources = files.filter((file) => file.startsWith(`datasources${path.sep}`)).flatMap((file) => DatasourceFile.parse(readYaml(file)).datasources);
const alertFile = AlertFile.parse(readYaml(path.relative('provisioning', ALERT_RULES_FILE)));
const rules = alertFile.groups.flatMap((group) => group.rules.map((rule) => ({ group, rule })));

describe('Grafana provisioning files', () => {
  it('are YAML of apiVersion 1, for datasources, dashboards and alerting', () => {
    for (const file of files) {
      expect({ file, yaml: /\.ya?ml$/.test(file) }).toEqual({ file, yaml: true });
      expect({ file, apiVersion: z.object({ apiVersion: z.unknown() }).parse(readYaml(file)).apiVersion }).toEqual({ file, apiVersion: 1 });
    }
    expect([...new Set(files.map((file) => file.split(path.sep)[0]))]).toEqual(expect.arrayContaining(['datasources', 'dashboards', 'alerting']));
  });

  it('give every datasource its own uid and name, and one default', () => {
    const uids = datasources.map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(new Set(datasources.map((d) => d.name)).size).toBe(datasources.length);
    expect(datasources.filter((d) => d.isDefault === true).map((d) => d.uid)).toEqual([CLICKHOUSE.uid]);
    // Each provisioned datasource is one the code names: nothing is there that no dashboard can find.
    expect(datasources.map((d) => ({ uid: d.uid, type: d.type })).sort((a, b) => a.uid.localeCompare(b.uid))).toEqual(
      [CLICKHOUSE, PROMETHEUS].map((d) => ({ uid: d.uid, type: d.type })).sort((a, b) => a.uid.localeCompare(b.uid)),
    );
  });

  it('connect ClickHouse as the read-only reader user, its password from the environment', () => {
    const clickhouse = datasources.find((d) => d.uid === CLICKHOUSE.uid);
    expect(clickhouse?.type).toBe(CLICKHOUSE.type);
    expect(clickhouse?.jsonData['username']).toBe('${CLICKHOUSE_READER_USER}');
    expect(clickhouse?.secureJsonData?.['password']).toBe('${CLICKHOUSE_READER_PASSWORD}');
    // As docker-compose.yml starts Grafana and kpi-migrate, both with the host's defaults.
    const compose = z
      .object({ services: z.record(z.string(), z.object({ environment: z.record(z.string(), z.union([z.string(), z.number()])).optional() })) })
      .parse(parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }));
    const host = { CLICKHOUSE_PASSWORD: 'admin-password', CLICKHOUSE_READER_PASSWORD: 'reader-password', GRAFANA_ADMIN_PASSWORD: 'grafana-password', KPI_METRICS_TOKEN: 'm'.repeat(32) };
    const envOf = (service: string): Record<string, string> =>
      Object.fromEntries(Object.entries(compose.services[service]?.environment ?? {}).map(([key, value]) => [key, composeExpand(String(value), host)]));
    const migrate = loadConfig(envOf('kpi-migrate')).clickhouse;
    const reader = migrate.mode === 'server' ? migrate.reader : undefined;
    expect(reader?.user).toBeDefined();
    const grafana = envOf('grafana');
    expect(grafanaExpand(String(clickhouse?.jsonData['username']), grafana)).toBe(reader?.user);
    expect(grafanaExpand(String(clickhouse?.secureJsonData?.['password']), grafana)).toBe(reader?.password);
    expect(['default', 'kpi', 'admin', envOf('clickhouse')['CLICKHOUSE_USER']]).not.toContain(reader?.user);
  });

  it('point Prometheus at the prometheus service', () => {
    const prometheus = datasources.find((d) => d.uid === PROMETHEUS.uid);
    expect(prometheus?.type).toBe(PROMETHEUS.type);
    expect(prometheus?.url).toBe('http://prometheus:9090');
  });

  it('provision every datasource that a dashboard or an alert rule uses', () => {
    const provisioned = new Map(datasources.map((d) => [d.uid, d.type]));
    const dashboards = filesUnder(DASHBOARDS).filter((file) => file.endsWith('.json'));
    const used = [
      ...dashboards.flatMap((file) => datasourceRefs(JSON.parse(readFileSync(path.join(DASHBOARDS, file), 'utf8'))).map((ref) => ({ ...ref, from: file }))),
      ...rules.flatMap(({ rule }) => rule.data.map((query) => ({ uid: query.datasourceUid, type: undefined, from: rule.uid }))),
    ].filter((ref) => !BUILT_IN.has(ref.uid) && !ref.uid.startsWith('$'));
    for (const ref of used) {
      expect({ ...ref, provisioned: provisioned.has(ref.uid) }).toEqual({ ...ref, provisioned: true });
      if (ref.type !== undefined) expect({ ...ref, type: ref.type }).toEqual({ ...ref, type: provisioned.get(ref.uid) });
    }
    // Meaningful with no dashboard JSON yet: the alert rules alone use both datasources.
    expect(new Set(used.map((ref) => ref.uid))).toEqual(new Set([CLICKHOUSE.uid, PROMETHEUS.uid]));
  });

  it('load dashboards into one flat folder, as the folder of generated JSON is flat', () => {
    const providers = DashboardProviderFile.parse(readYaml(path.join('dashboards', 'kpi.yaml'))).providers;
    const nested = filesUnder(DASHBOARDS).some((file) => file.includes(path.sep));
    for (const provider of providers) expect(provider.options.foldersFromFilesStructure ?? false).toBe(nested);
  });
});

describe('alert rules', () => {
  it('are the generated file, in sync with dashboards/alerts.ts (kpi dashboards build)', () => {
    const text = readFileSync(path.join(ROOT, 'infra', 'grafana', ALERT_RULES_FILE), 'utf8');
    expect(text).toBe(alertRulesYaml());
    expect(parse(text)).toEqual(alertRuleGroups());
    expect(text.split('\n')[0]).toMatch(/^# GENERATED by `kpi dashboards build`.*do not edit/);
  });

  it('have unique uids, and unique titles within a folder', () => {
    const uids = rules.map(({ rule }) => rule.uid);
    expect(new Set(uids).size).toBe(uids.length);
    const titles = rules.map(({ group, rule }) => `${group.folder}/${rule.title}`);
    expect(new Set(titles).size).toBe(titles.length);
    const names = alertFile.groups.map((group) => `${group.folder}/${group.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('live in their own folder, not the one the dashboards provisioner creates', () => {
    const providers = DashboardProviderFile.parse(readYaml(path.join('dashboards', 'kpi.yaml'))).providers;
    for (const group of alertFile.groups) expect(providers.map((p) => p.folder)).not.toContain(group.folder);
  });

  it.each(rules.map(({ rule }) => [rule.uid, rule] as const))('%s: its condition and every expression read refIds of the rule', (_uid, rule) => {
    const refIds = rule.data.map((query) => query.refId);
    expect(new Set(refIds).size).toBe(refIds.length);
    expect(refIds).toContain(rule.condition);
    for (const query of rule.data) {
      expect(query.model['refId']).toBe(query.refId);
      if (query.datasourceUid === EXPRESSION_UID) {
        const inputs = expressionInputs(query.model);
        expect(inputs.length).toBeGreaterThan(0);
        for (const input of inputs) expect({ expression: query.refId, input, known: refIds.includes(input) && input !== query.refId }).toEqual({ expression: query.refId, input, known: true });
      } else {
        // A datasource query names the datasource it is sent to, over a window ending now.
        expect(z.object({ uid: z.string() }).parse(query.model['datasource']).uid).toBe(query.datasourceUid);
        expect(query.relativeTimeRange?.from).toBeGreaterThan(0);
        expect(query.relativeTimeRange?.to).toBe(0);
      }
    }
    // The condition is the last step: an expression over the queries.
    expect(rule.data.find((query) => query.refId === rule.condition)?.datasourceUid).toBe(EXPRESSION_UID);
  });

  it('hold no $ where Grafana would expand it from its environment (titles, labels, annotations)', () => {
    for (const { rule } of rules) {
      const texts = [rule.title, ...Object.entries(rule.labels).flat(), ...Object.values(rule.annotations)];
      expect({ rule: rule.uid, dollars: texts.filter((text) => text.includes('$')) }).toEqual({ rule: rule.uid, dollars: [] });
    }
  });
});

describe('alert queries on ClickHouse', () => {
  const queries = alertQueries();
  const granted = new Set([...readFileSync(path.join(ROOT, 'infra/clickhouse/access.sql'), 'utf8').matchAll(/SELECT ON \{\{database\}\}\.(\w+)/g)].map((m) => m[1]));

  it('are every ClickHouse query of every rule', () => {
    const fromFile = rules.flatMap(({ rule }) =>
      rule.data.filter((query) => query.datasourceUid === CLICKHOUSE.uid).map((query) => ({ rule: rule.uid, refId: query.refId, rawSql: query.model['rawSql'] })),
    );
    expect(queries).toEqual(fromFile);
    expect(queries.length).toBeGreaterThanOrEqual(3);
  });

  it("are the plugin's SQL targets, as tables", () => {
    for (const { rule } of rules) {
      for (const query of rule.data.filter((q) => q.datasourceUid === CLICKHOUSE.uid)) {
        expect({ rule: rule.uid, ...query.model }).toMatchObject({ rule: rule.uid, datasource: { type: CLICKHOUSE.type, uid: CLICKHOUSE.uid }, editorType: 'sql', queryType: 'table', format: 1 });
      }
    }
  });

  it.each(queries.map((query) => [query.rule, query] as const))('%s reads only what the reader is granted, with no macro the plugin lacks', (_rule, query) => {
    expect(query.rawSql).not.toMatch(/\$__time(From|Group)\b/);
    const tables = [...query.rawSql.matchAll(/\b(?:FROM|JOIN)\s+([A-Za-z_]\w*)/gi)].map((m) => m[1] ?? '');
    expect(tables.length).toBeGreaterThan(0);
    for (const table of tables) expect({ table, granted: granted.has(table) }).toEqual({ table, granted: true });
  });
});
