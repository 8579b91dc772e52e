import { KPIS } from '../../schemas/kpis/catalog.js';
import { insertRows, queryRows, type ClickHouseClient } from './clickhouse.js';
import { UsageError } from './errors.js';

/**
 * The documented views (`v_…`, infra/clickhouse/migrations/0010_views.sql) that analysts,
 * Grafana and the `kpi` command read: the KPI catalog rows they label values with, and
 * their data dictionary as the live store describes it.
 */

/** The table the views take KPI labels from: a copy of schemas/kpis, never edited by hand. */
export const KPI_CATALOG_TABLE = 'kpi_catalog';

/** Documented views are the views whose name starts with this. */
export const VIEW_PREFIX = 'v_';

/** A row of kpi_catalog (a type, not an interface, so that it is a plain record to insert). */
type KpiCatalogRow = {
  kpi: string;
  label_zh: string;
  label_en: string;
  value_unit: string;
  direction: string;
};

export interface ViewColumn {
  name: string;
  type: string;
  comment: string;
}

export interface ViewDoc {
  name: string;
  comment: string;
  columns: ViewColumn[];
}

const catalogKey = (r: KpiCatalogRow): string => JSON.stringify([r.kpi, r.label_zh, r.label_en, r.value_unit, r.direction]);

/**
 * Brings `kpi_catalog` in line with the catalog of this code, so a relabelled or new KPI
 * reaches the views without a migration of its own. Writes only the KPIs whose row differs
 * (the newest row of a KPI wins), so a run with nothing changed writes nothing. A store
 * without the table (migrated from other files) is left alone. Returns the rows written.
 */
export async function writeKpiCatalog(client: ClickHouseClient): Promise<number> {
  const [table] = await queryRows<{ n: string }>(
    client,
    'SELECT toString(count()) AS n FROM system.tables WHERE database = currentDatabase() AND name = {table: String}',
    { table: KPI_CATALOG_TABLE },
  );
  if (Number(table?.n ?? 0) === 0) return 0;
  const stored = new Set(
    (await queryRows<KpiCatalogRow>(client, `SELECT kpi, label_zh, label_en, value_unit, direction FROM ${KPI_CATALOG_TABLE} FINAL`)).map(catalogKey),
  );
  const rows = KPIS.map((k): KpiCatalogRow => ({ kpi: k.id, label_zh: k.zh, label_en: k.en, value_unit: k.unit, direction: k.direction })).filter(
    (r) => !stored.has(catalogKey(r)),
  );
  await insertRows(client, KPI_CATALOG_TABLE, rows);
  return rows.length;
}

/**
 * The documented views with their comment and every column's type and comment, read from
 * system.tables and system.columns: what the store holds, not a list kept beside it.
 * `view` narrows it to one; a name the store has no view of is a UsageError naming those it has.
 */
export async function readViews(client: ClickHouseClient, view?: string): Promise<ViewDoc[]> {
  const views = await queryRows<{ name: string; comment: string }>(
    client,
    "SELECT name, comment FROM system.tables WHERE database = currentDatabase() AND engine = 'View' AND startsWith(name, {prefix: String}) ORDER BY name",
    { prefix: VIEW_PREFIX },
  );
  const chosen = view === undefined ? views : views.filter((v) => v.name === view);
  if (view !== undefined && chosen.length === 0) {
    const known = views.length > 0 ? `the store has ${views.map((v) => v.name).join(', ')}` : 'the store has none yet: run kpi migrate';
    throw new UsageError(`unknown view ${JSON.stringify(view)}; ${known}`);
  }
  const columns = await queryRows<ViewColumn & { table: string }>(
    client,
    'SELECT table, name, type, comment FROM system.columns WHERE database = currentDatabase() AND table IN {tables: Array(String)} ORDER BY table, position',
    { tables: chosen.map((v) => v.name) },
  );
  return chosen.map((v) => ({
    name: v.name,
    comment: v.comment,
    columns: columns.filter((c) => c.table === v.name).map(({ name, type, comment }) => ({ name, type, comment })),
  }));
}
