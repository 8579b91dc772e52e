import { parsePeriod, type CalendarConfig, type Grain } from '../../schemas/calendar/index.js';
import type { Level } from '../../schemas/kpis/compile.js';
import type { ReviewState } from '../../workflows/definitions/messages.js';
import { authorize, type Action } from '../auth/permissions.js';
import { addPrincipal, createToken, listPrincipals, listTokens, revokeToken, setDisabled, type Caller, type PrincipalRow, type TokenRow } from '../auth/principals.js';
import { queryRows, type ClickHouseClient } from '../shared/clickhouse.js';
import type { Config } from '../shared/config.js';
import { ForbiddenError, KpiError, UsageError, describeError } from '../shared/errors.js';
import { verifyAudit, type ChainReport } from '../periods/audit-chain.js';
import { warehouseStats, type WarehouseStats } from '../ingest/stats.js';
import { readViews, type ViewDoc } from '../shared/views.js';
import { explainValue, type ExplainQuery, type Explanation } from '../periods/explain.js';
import { parseImportCsv, storeImport, validateRows, type ImportKind, type ImportReceipt } from '../periods/imports.js';
import { listPeriods, periodStatus, readRestatements, readScorecards, readValues, type PeriodStatus, type RestatementRow } from '../periods/read.js';
import { readPeriodAudit, readPeriodImports, type PeriodAuditEntry, type PeriodImports } from '../periods/trail.js';

/**
 * What a caller can do with the warehouse, one method per action, each asking the
 * permissions table first. The HTTP routes and the `kpi` command (when it opens the store
 * itself) both go through these methods, so a rule lives in one place; `remote.ts` gives
 * the command the same interface over HTTP when another process holds the store.
 */
export interface Operations {
  readonly caller: Caller;
  periods(filter: { grain?: Grain }): Promise<PeriodStatus[]>;
  periodStatus(grain: Grain, period: string): Promise<PeriodStatus | null>;
  values(query: { grain: Grain; period: string; level?: Level; kpi?: string; revision?: number }): Promise<Awaited<ReturnType<typeof readValues>>>;
  scorecards(query: { grain: Grain; period: string; level?: Level; scorecard?: string; revision?: number }): Promise<Awaited<ReturnType<typeof readScorecards>>>;
  restatements(query: { grain: Grain; period: string }): Promise<RestatementRow[]>;
  stats(): Promise<WarehouseStats>;
  /** The data dictionary: each documented view (or only `view`) with its columns' types and comments. */
  views(view?: string): Promise<ViewDoc[]>;
  /** Why a KPI value is what it is: the value, its children, previous period and target, and the rows it is made of, paged. */
  explain(query: ExplainQuery): Promise<Explanation>;
  importCsv(kind: ImportKind, text: string, source: string): Promise<ImportReceipt>;
  importRows(kind: ImportKind, rows: Record<string, unknown>[], content: string, source: string): Promise<ImportReceipt>;
  users(): Promise<(PrincipalRow & { tokens: number })[]>;
  addUser(input: { name: string; role: string; kind?: 'user' | 'service' }): Promise<PrincipalRow>;
  setDisabled(name: string, disabled: boolean): Promise<PrincipalRow>;
  tokens(user?: string): Promise<TokenRow[]>;
  createToken(input: { user: string; name: string; scope?: string; expiresAt?: string }): Promise<TokenRow & { token: string }>;
  revokeToken(tokenId: string): Promise<TokenRow>;
  verifyAudit(): Promise<ChainReport[]>;
  approve(quarter: string, comment: string): Promise<ReviewState>;
  reopen(quarter: string, reason: string): Promise<ReviewState>;
  /** A period's audit trail: closes, restatements, approvals and reopens with who, when and why, oldest first. */
  periodAudit(query: { grain: Grain; period: string }): Promise<PeriodAuditEntry[]>;
  /** The targets and manual inputs a revision of a period read (without one: those in force now), their import records, and imports since. */
  periodImports(query: { grain: Grain; period: string; revision?: number }): Promise<PeriodImports>;
}

/** The operations of the authenticated caller of a request (null: no credential). */
export type OperationsFor = (caller: Caller | null) => Operations;

/** What signing off needs from Temporal; the review workflow records the transition. */
export interface SignOff {
  approve(quarter: string, approval: { actor: string; comment: string }): Promise<ReviewState>;
  reopen(quarter: string, reopening: { actor: string; reason: string }): Promise<ReviewState>;
}

export interface OperationsDeps {
  clickhouse: ClickHouseClient;
  /** The business calendar, and the reporting currency money is shown and imported in. */
  calendar: Config['business'];
  /** Four eyes on quarters: who imported a quarter's targets or inputs, or reopened it, cannot approve it. */
  fourEyes: boolean;
  signOff?: () => Promise<SignOff>;
  /** Called after a user or token changes, so cached credentials are checked again. */
  onCredentialsChanged?: () => void;
}

/**
 * Why `caller` may not approve `quarter` under the four-eyes rule, or an empty list: they
 * imported targets or inputs of a period inside the quarter, or exchange rates of one of
 * its days, or they reopened it last.
 */
export async function fourEyesConflicts(clickhouse: ClickHouseClient, calendar: CalendarConfig, quarter: string, caller: string): Promise<string[]> {
  const q = parsePeriod('quarter', quarter, calendar);
  const imported = await queryRows<{ kind: string; grain: Grain; period: string }>(
    clickhouse,
    'SELECT DISTINCT kind, grain, period FROM (SELECT \'targets\' AS kind, grain, period, import_id FROM kpi_targets UNION ALL SELECT \'inputs\' AS kind, grain, period, import_id FROM kpi_inputs) ' +
      'WHERE import_id IN (SELECT import_id FROM imports WHERE imported_by = {caller: String})',
    { caller },
  );
  const conflicts = imported
    .filter((r) => {
      const p = parsePeriod(r.grain, r.period, calendar);
      return p.start >= q.start && p.end <= q.end;
    })
    .map((r) => `${caller} imported ${r.kind} of ${r.grain} ${r.period}`);
  const rateDays = await queryRows<{ day: string }>(
    clickhouse,
    'SELECT DISTINCT toString(day) AS day FROM fx_rates WHERE import_id IN (SELECT import_id FROM imports WHERE imported_by = {caller: String}) ORDER BY day',
    { caller },
  );
  const inQuarter = rateDays.filter((r) => {
    const d = parsePeriod('day', r.day, calendar);
    return d.start >= q.start && d.end <= q.end;
  });
  if (inQuarter.length > 0) conflicts.push(`${caller} imported exchange rates of ${inQuarter.length} day${inQuarter.length === 1 ? '' : 's'} of ${q.id} (${inQuarter[0]?.day}${inQuarter.length > 1 ? ` to ${inQuarter.at(-1)?.day}` : ''})`);
  const [last] = await queryRows<{ action: string; actor: string }>(
    clickhouse,
    "SELECT action, actor FROM period_audit FINAL WHERE grain = 'quarter' AND period = {period: String} AND action IN ('approve', 'reopen') ORDER BY at DESC LIMIT 1",
    { period: q.id },
  );
  if (last?.action === 'reopen' && last.actor === caller) conflicts.push(`${caller} reopened ${q.id}`);
  return [...new Set(conflicts)];
}

/** What the review workflow said, for a person: it has no review yet, or why it refused. */
function reviewProblem(err: unknown, quarter: string): Error {
  const text = describeError(err);
  if (/not found/i.test(text)) return new UsageError(`${quarter} has no review: only a closed quarter can be approved or reopened (kpi periods --grain quarter).`);
  if (err instanceof KpiError) return err;
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : text;
  return new UsageError(cause);
}

export function localOperations(deps: OperationsDeps, caller: Caller): Operations {
  const { clickhouse, calendar } = deps;
  const signOff = async (): Promise<SignOff> => {
    if (!deps.signOff) throw new ForbiddenError('sign-off is not available here: this process has no Temporal connection');
    return deps.signOff();
  };
  const changed = <T>(value: T): T => {
    deps.onCredentialsChanged?.();
    return value;
  };
  /** The work of one action, run only after the permissions table allowed it; `by` is who acts. */
  const as =
    <A extends unknown[], R>(action: Action, work: (by: string, ...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> =>
      work(authorize(caller, action).name, ...args);
  return {
    caller,
    periods: as('values.read', (_by, filter: { grain?: Grain }) => listPeriods(clickhouse, filter)),
    periodStatus: as('values.read', (_by, grain: Grain, period: string) => periodStatus(clickhouse, grain, period)),
    values: as('values.read', (_by, query: Parameters<Operations['values']>[0]) => readValues(clickhouse, query)),
    scorecards: as('values.read', (_by, query: Parameters<Operations['scorecards']>[0]) => readScorecards(clickhouse, query)),
    restatements: as('values.read', (_by, query: { grain: Grain; period: string }) => readRestatements(clickhouse, query)),
    stats: as('values.read', () => warehouseStats(clickhouse, calendar.reportingCurrency)),
    views: as('values.read', (_by, view?: string) => readViews(clickhouse, view)),
    explain: as('values.read', (_by, query: ExplainQuery) => explainValue(clickhouse, calendar, query)),
    importCsv: as('imports.write', (by, kind: ImportKind, text: string, source: string) => storeImport(clickhouse, kind, parseImportCsv(kind, text, calendar), { importedBy: by, source, content: text })),
    importRows: as('imports.write', (by, kind: ImportKind, rows: Record<string, unknown>[], content: string, source: string) =>
      storeImport(clickhouse, kind, validateRows(kind, rows, calendar), { importedBy: by, source, content }),
    ),
    users: as('users.manage', () => listPrincipals(clickhouse)),
    addUser: as('users.manage', async (by, input: Parameters<Operations['addUser']>[0]) => changed(await addPrincipal(clickhouse, input, by))),
    setDisabled: as('users.manage', async (by, name: string, disabled: boolean) => changed(await setDisabled(clickhouse, name, disabled, by))),
    tokens: as('users.manage', (_by, user?: string) => listTokens(clickhouse, user)),
    createToken: as('users.manage', async (by, input: Parameters<Operations['createToken']>[0]) =>
      changed(await createToken(clickhouse, { principal: input.user, name: input.name, ...(input.scope ? { scope: input.scope } : {}), ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}) }, by)),
    ),
    revokeToken: as('users.manage', async (by, tokenId: string) => changed(await revokeToken(clickhouse, tokenId, by))),
    verifyAudit: as('audit.verify', () => verifyAudit(clickhouse)),
    async approve(quarter, comment) {
      const actor = authorize(caller, 'periods.approve').name;
      const id = parsePeriod('quarter', quarter, calendar).id;
      if (deps.fourEyes) {
        const conflicts = await fourEyesConflicts(clickhouse, calendar, id, actor);
        if (conflicts.length > 0) throw new ForbiddenError(`four eyes: ${conflicts.join('; ')}, so another member of finance must approve ${id}`);
      }
      return (await signOff()).approve(id, { actor, comment }).catch((err: unknown) => {
        throw reviewProblem(err, id);
      });
    },
    async reopen(quarter, reason) {
      const actor = authorize(caller, 'periods.reopen').name;
      const id = parsePeriod('quarter', quarter, calendar).id;
      return (await signOff()).reopen(id, { actor, reason }).catch((err: unknown) => {
        throw reviewProblem(err, id);
      });
    },
    periodAudit: as('values.read', (_by, query: { grain: Grain; period: string }) => readPeriodAudit(clickhouse, query)),
    periodImports: as('values.read', (_by, query: Parameters<Operations['periodImports']>[0]) => readPeriodImports(clickhouse, query)),
  };
}
