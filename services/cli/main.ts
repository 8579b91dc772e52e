import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, type Config } from '../shared/config.js';
import { explainWarehouseError } from '../shared/clickhouse.js';
import { ConfigError, ForbiddenError, KpiError, PrerequisiteError, UnauthenticatedError, UsageError, describeError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { parseUInt32 } from '../shared/numbers.js';
import type { explainCommand } from './commands/explain.js';
import type { publishCommand } from './commands/publish.js';
import type { simulateCommand } from './commands/simulate.js';
import type * as PeriodsCommands from './commands/periods.js';
import type * as UsersCommands from './commands/users.js';

type PeriodsModule = typeof PeriodsCommands;
type UsersModule = typeof UsersCommands;

/** Exit codes: 0 done, 1 the work failed, 2 bad arguments or configuration, 3 no valid credential or not allowed. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_DENIED = 3;

let cached: { config: Config; logger: Logger } | undefined;

/** Config is parsed once, on the first command that needs it, from the environment. */
function context(): { config: Config; logger: Logger } {
  if (!cached) {
    const config = loadConfig(process.env);
    cached = { config, logger: createLogger({ level: config.logLevel }) };
  }
  return cached;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function buildProgram(): Command {
  const program = new Command('kpi')
    .description('kpi-pipeline: business events from Kafka into KPIs and ranked scorecards in ClickHouse')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(text) })
    .exitOverride();

  const stack = program.command('stack').description('install, start, stop and inspect the local Kafka and Temporal (ClickHouse is embedded)');
  stack
    .command('up')
    .description('install what is missing, start what is not running, wait until each service answers (idempotent)')
    .option('--kafka-nodes <n>', 'run Kafka as a KRaft cluster of n nodes (1-9; 3 gives topics 3 replicas, 2 in sync); default KPI_STACK_KAFKA_NODES or 1')
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: { json?: boolean; kafkaNodes?: string }) => (await import('./commands/stack.js')).stackUpCommand(context().config, opts));
  stack
    .command('down')
    .description('stop the services that `kpi stack up` started; anything else is left alone')
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: { json?: boolean }) => (await import('./commands/stack.js')).stackDownCommand(context().config, opts));
  stack
    .command('status')
    .description('show each service: state, pid, port, health, data folder')
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: { json?: boolean }) => (await import('./commands/stack.js')).stackStatusCommand(context().config, opts));

  program
    .command('migrate')
    .description('apply the pending ClickHouse migrations from infra/clickhouse/migrations, in order')
    .option('--json', 'print the result as one JSON line')
    .option('--print-sql', 'print every statement a new store would receive (for CLICKHOUSE_CLUSTER when set) without connecting')
    .action(async (opts: { json?: boolean; printSql?: boolean }) => (await import('./commands/migrate.js')).migrateCommand(context().config, opts));

  program
    .command('sql')
    .description('run one SQL query against the warehouse (read-only unless --write)')
    .argument('<query>', 'the SQL; bind values as {name: Type} and pass them with --param')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json', 'ndjson', 'csv', 'tsv']).default('table'))
    .option('-p, --param <name=value>', 'a query parameter (repeatable)', collect, [])
    .option('--write', 'allow statements that change data or schema')
    .addHelpText('after', '\nExample:\n  kpi sql "SELECT topic, count() FROM dead_letters WHERE reason_code = {code: String} GROUP BY topic" -p code=invalid_json')
    .action(async (query: string, opts: { format: 'table'; param: string[]; write?: boolean }) =>
      (await import('./commands/sql.js')).sqlCommand(context().config, query, opts),
    );

  program
    .command('simulate')
    .description('generate seeded business events for a range of days (with optional faults) and send them to Kafka')
    .requiredOption('--from <date>', 'first business day, YYYY-MM-DD')
    .requiredOption('--to <date>', 'last business day, YYYY-MM-DD (inclusive)')
    .option('--stores <n>', 'number of stores (1-1000)', Number, 20)
    .option('--regions <n>', 'number of regions (default: stores / 5, rounded up)', Number)
    .option('--seed <n>', 'names the run: the same seed gives the same events', Number, 1)
    .option('--duplicates <fraction>', 'extra copies of valid events, re-sent later (0-0.5)', Number, 0)
    .option('--malformed <fraction>', 'malformed messages, every kind in turn (0-0.5)', Number, 0)
    .option('--late <fraction>', 'valid events held back to the end of the run (0-0.5)', Number, 0)
    .option('--out-of-order <fraction>', 'follow-ups sent before the event they follow (0-0.5)', Number, 0)
    .option('--scale <factor>', 'volume multiplier; 1 is about 1,500 events per store and week', Number, 1)
    .option('--large-sales <fraction>', 'share of sales that are wholesale invoices of 1,000-5,000 lines (0-1, e.g. 0.001)', Number)
    .option('--fine-prices <fraction>', 'share of sales sent as sale.completed v3 with decimal prices, many finer than the minor unit such as 0.015 a gram (0-1)', Number)
    .option('--currencies <codes>', 'second currencies, ISO 4217 codes separated by commas (e.g. HKD,MOP): every fourth store (S004, S008, ...) sells and refunds in them in turn; not the reporting currency')
    .option('--rates-out <file>', 'with --currencies: write the daily exchange rates of the simulated days as CSV (day,currency,rate: 1 unit in the reporting currency)')
    .option('--out <file>', 'also write every message as sent to an NDJSON file (values base64)')
    .option('--dry-run', 'generate (and write --out) without sending anything to Kafka')
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: Parameters<typeof simulateCommand>[2]) => {
      const { config, logger } = context();
      await (await import('./commands/simulate.js')).simulateCommand(config, logger, opts);
    });

  program
    .command('publish')
    .description('send historical events from an NDJSON file (one event per line) to their family topics; every line is checked as ingest checks it, bad lines are reported and not sent')
    .argument('<file>', 'the NDJSON file, or - for standard input')
    .option('--dry-run', 'check every line, send nothing')
    .option('--rate <events/s>', 'send at most this many events per second (default: as fast as Kafka acknowledges)')
    .option('--from-line <n>', 'start at line n (from 1), e.g. to resume after an interruption; earlier lines are passed over')
    .option('--bad <file>', 'also write every bad line to this file, one JSON object each: line, code, reason, text')
    .option('--json', 'print the summary as one JSON line')
    .addHelpText(
      'after',
      [
        '',
        'Each event goes to the topic of its type (KPI_TOPIC_PREFIX applies) with its entity id as key and the',
        'line, byte for byte, as value. Exit code 1 when a line was bad or the run was stopped early.',
        '',
        'Needs only the Kafka brokers (KAFKA_BROKERS): Kafka\'s own ACLs decide who may write; no kpi credential.',
        'Ctrl-C (or SIGTERM) stops after the current line, sends what was checked and prints the line to resume',
        'from; a second one leaves at once. Events sent twice are stored once: ingest deduplicates by event_id.',
        '',
        'Example:',
        '  kpi publish history.ndjson --dry-run && kpi publish history.ndjson --bad bad.ndjson',
      ].join('\n'),
    )
    .action(async (file: string, opts: Parameters<typeof publishCommand>[3]) => {
      const { config, logger } = context();
      await (await import('./commands/publish.js')).publishCommand(config, logger, file, opts);
    });

  program
    .command('run')
    .description('embedded mode: own the store and run ingest, the Temporal worker and the HTTP API in the foreground until SIGTERM')
    .action(async () => {
      const { config, logger } = context();
      await (await import('./commands/run.js')).runCommand(config, logger, { role: 'run' });
    });

  program
    .command('ingest')
    .description('run the ingest consumer alone until SIGTERM; several share the topics\' partitions. Against CLICKHOUSE_URL, or an embedded store that `kpi run`/`kpi api` holds (with a service or admin token)')
    .action(async () => {
      const { config, logger } = context();
      await (await import('./commands/run.js')).runCommand(config, logger, { role: 'ingest' });
    });

  program
    .command('worker')
    .description('run the Temporal worker alone (workflows and activities) until SIGTERM; several share the task queue. Store as for `kpi ingest`')
    .action(async () => {
      const { config, logger } = context();
      await (await import('./commands/run.js')).runCommand(config, logger, { role: 'worker' });
    });

  program
    .command('api')
    .description('run the HTTP API alone (health, metrics, and the store endpoint when it holds the embedded store) until SIGTERM')
    .action(async () => {
      const { config, logger } = context();
      await (await import('./commands/run.js')).runCommand(config, logger, { role: 'api' });
    });

  program
    .command('stats')
    .description('what the warehouse holds: distinct valid events by family, dead letters by reason')
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: { json?: boolean }) => (await import('./commands/stats.js')).statsCommand(context().config, opts));

  const periods = (): Promise<PeriodsModule> => import('./commands/periods.js');

  program
    .command('close')
    .description('close a period: compute every KPI at every level as a revision, score and rank the scorecards (a Temporal workflow)')
    .requiredOption('--grain <grain>', 'day, week, month, quarter or year')
    .requiredOption('--period <id>', 'e.g. 2026-07-15, 2026-W29, 2026-07, 2026-Q3, 2026')
    .option('--wait', 'wait for the close to finish and print its result')
    .option('--force', 'close now: do not wait for the period end, the grace or ingest (recorded as forced)')
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: { grain: string; period: string; wait?: boolean; force?: boolean; json?: boolean }) => (await periods()).closeCommand(context().config, opts));

  program
    .command('restate')
    .description('restate a closed period now (after importing targets, inputs or exchange rates it needs): a new revision if any value changes')
    .requiredOption('--grain <grain>', 'day, week, month, quarter or year')
    .requiredOption('--period <id>', 'e.g. 2026-07-15, 2026-W29, 2026-07, 2026-Q3, 2026')
    .requiredOption('--reason <text>', 'why, for the audit trail (e.g. "HKD rates imported")')
    .option('--wait', 'wait for the restatement and print its result')
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: { grain: string; period: string; reason: string; wait?: boolean; json?: boolean }) => (await periods()).restateCommand(context().config, opts));

  program
    .command('periods')
    .description('the state of every closed period: current revision, approvals, pending restatements')
    .option('--grain <grain>', 'only this grain')
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: { grain?: string; json?: boolean }) => (await periods()).periodsCommand(context().config, opts));

  program
    .command('values')
    .description("a period's KPI values: the current revision, or --revision n (1 is as first reported)")
    .requiredOption('--grain <grain>', 'day, week, month, quarter or year')
    .requiredOption('--period <id>', 'the period id')
    .option('--level <level>', 'company, region, store, department or channel')
    .option('--kpi <id>', 'one KPI (kpi kpis lists them)')
    .option('--revision <n>', 'a revision other than the current one (0 is provisional)', (v: string) => {
      try {
        return parseUInt32(v, '--revision');
      } catch (err) {
        throw new InvalidArgumentError(describeError(err));
      }
    })
    .option('--json', 'print one JSON array: kpi, level, unit, value, numerator, denominator, revision, status')
    .action(async (opts: { grain: string; period: string; level?: string; kpi?: string; revision?: number; json?: boolean }) => (await periods()).valuesCommand(context().config, opts));

  program
    .command('scorecard')
    .description("a period's scorecards, ranked within each peer group")
    .requiredOption('--grain <grain>', 'day, week, month, quarter or year')
    .requiredOption('--period <id>', 'the period id')
    .option('--level <level>', 'only scorecards of this level (store, region, …)')
    .option('--scorecard <id>', 'only this scorecard')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .addOption(new Option('--lang <lang>', 'labels in English or Chinese').choices(['en', 'zh']).default('en'))
    .action(async (opts: { grain: string; period: string; level?: string; scorecard?: string; format: string; lang: string }) => (await periods()).scorecardCommand(context().config, opts));

  program
    .command('restatements')
    .description('what restatements of a period changed, per KPI and unit (as reported → restated)')
    .requiredOption('--grain <grain>', 'day, week, month, quarter or year')
    .requiredOption('--period <id>', 'the period id')
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: { grain: string; period: string; json?: boolean }) => (await periods()).restatementsCommand(context().config, opts));

  program
    .command('approve')
    .description("finance sign-off of a closed quarter (or of its pending restatement): locks it")
    .requiredOption('--period <quarter>', 'e.g. 2026-Q3')
    .option('--comment <text>', 'recorded with the approval', '')
    .option('--json', 'print the review state as one JSON line')
    .action(async (opts: { period: string; comment?: string; json?: boolean }) => (await periods()).approveCommand(context().config, opts));

  program
    .command('reopen')
    .description('reopen an approved quarter (it needs approval again)')
    .requiredOption('--period <quarter>', 'e.g. 2026-Q3')
    .requiredOption('--reason <text>', 'why: recorded in the audit trail')
    .option('--json', 'print the review state as one JSON line')
    .action(async (opts: { period: string; reason: string; json?: boolean }) => (await periods()).reopenCommand(context().config, opts));

  const imported = {
    targets: { what: 'KPI targets (net_sales, gross_profit) per unit and period', columns: 'columns: kpi,grain,period,level,unit,value' },
    inputs: { what: 'manual KPI inputs (staff turnover, account accuracy, …) per unit and period', columns: 'columns: kpi,grain,period,level,unit,value,numerator,denominator' },
    rates: {
      what: 'exchange rates per business day into the reporting currency (KPI_REPORTING_CURRENCY), for money in other currencies',
      columns: 'columns: day,currency,rate[,to] — one unit of currency is worth rate units of to (default: the reporting currency) on day (YYYY-MM-DD in KPI_TIME_ZONE)',
    },
  } as const;
  for (const kind of ['targets', 'inputs', 'rates'] as const) {
    program
      .command(kind)
      .description(imported[kind].what)
      .command('import')
      .description(`import ${kind} from a CSV file; all rows are checked first and one bad row stores nothing`)
      .argument('<csv>', imported[kind].columns)
      .option('--json', 'print the receipt as one JSON line')
      .action(async (file: string, opts: { json?: boolean }) => (await periods()).importCommand(context().config, kind, file, opts));
  }

  const users = (): Promise<UsersModule> => import('./commands/users.js');
  const usersCmd = program.command('users').description('people and services that may use the pipeline (admin)');
  usersCmd
    .command('add')
    .description('add a user with a role; then give them a token with kpi tokens create')
    .argument('<name>', 'letters, digits, . _ @ - (1-64)')
    .requiredOption('--role <role>', 'viewer, analyst, operator, finance or admin (service with --service)')
    .option('--service', 'a service principal (ingest, worker, another kpi process): role service')
    .option('--json', 'print the user as one JSON line')
    .action(async (name: string, opts: { role: string; service?: boolean; json?: boolean }) => (await users()).usersAddCommand(context().config, name, opts));
  usersCmd
    .command('list')
    .description('every user: role, disabled, live tokens')
    .option('--json', 'print one JSON array')
    .action(async (opts: { json?: boolean }) => (await users()).usersListCommand(context().config, opts));
  usersCmd
    .command('disable')
    .description('disable a user: every token of theirs stops working at once')
    .argument('<name>', 'the user')
    .option('--enable', 'enable the user again instead')
    .option('--json', 'print the user as one JSON line')
    .action(async (name: string, opts: { enable?: boolean; json?: boolean }) => (await users()).usersDisableCommand(context().config, name, opts));

  const tokensCmd = program.command('tokens').description('credentials of users (admin); a token is shown once and stored only as a hash');
  tokensCmd
    .command('create')
    .description('create a token for a user and print it once')
    .argument('<user>', 'whose token')
    .requiredOption('--name <name>', 'what the token is for, e.g. laptop, grafana')
    .option('--scope <role>', "a role with no more rights than the user's own (default: the user's role)")
    .option('--expires <date>', 'when it stops working, e.g. 2027-03-31 or 2027-03-31T18:00:00Z')
    .option('--json', 'print the token and its record as one JSON line')
    .action(async (user: string, opts: { name: string; scope?: string; expires?: string; json?: boolean }) => (await users()).tokensCreateCommand(context().config, user, opts));
  tokensCmd
    .command('generate')
    .description('print a new random token without storing it: a first admin token for KPI_BOOTSTRAP_TOKEN_FILE')
    .action(async () => (await users()).tokensGenerateCommand());
  tokensCmd
    .command('list')
    .description('tokens (never their secrets): id, user, scope, expiry, revoked')
    .option('--user <name>', 'only this user')
    .option('--json', 'print one JSON array')
    .action(async (opts: { user?: string; json?: boolean }) => (await users()).tokensListCommand(context().config, opts));
  tokensCmd
    .command('revoke')
    .description('revoke a token at once')
    .argument('<id>', 'the token id (kpi tokens list)')
    .option('--json', 'print the token record as one JSON line')
    .action(async (id: string, opts: { json?: boolean }) => (await users()).tokensRevokeCommand(context().config, id, opts));

  program
    .command('audit')
    .description('the audit trail')
    .command('verify')
    .description("check the hash chains of period_audit and imports; exit 1 naming the first broken link")
    .option('--json', 'print the reports as one JSON line')
    .action(async (opts: { json?: boolean }) => (await users()).auditVerifyCommand(context().config, opts));

  program
    .command('scorecards')
    .description('scorecard configuration')
    .command('show')
    .description('print the scorecards in force as JSON (save it, edit it, point KPI_SCORECARDS_FILE at it)')
    .action(async () => (await periods()).scorecardsShowCommand(context().config));

  program
    .command('schedules')
    .description('Temporal Schedules of the pipeline')
    .command('apply')
    .description("create or update the Schedules that close each grain at its end (in KPI_TIME_ZONE) and refresh the open periods' provisional values")
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: { json?: boolean }) => (await periods()).schedulesApplyCommand(context().config, opts));

  program
    .command('kpis')
    .description('the KPI catalog: ids, labels, units, which way is better')
    .addOption(new Option('--lang <lang>', 'labels in English or Chinese').choices(['en', 'zh']).default('en'))
    .option('--json', 'every KPI with its definition, as one JSON line')
    .action(async (opts: { json?: boolean; lang: string }) => (await periods()).kpisCommand(opts));

  program
    .command('report')
    .description('the quarterly review pack of a closed quarter: cover with approval, headline KPIs with charts, ranked scorecards, restatements, targets and inputs used, audit trail')
    .requiredOption('--period <quarter>', 'the quarter, e.g. 2026-Q3')
    .addOption(new Option('--lang <lang>', 'labels in Chinese or English').choices(['zh', 'en']).default('en'))
    .addOption(new Option('--format <format>', 'html, pdf (printed by headless Chromium, one section per page) or json (the data)').choices(['html', 'pdf', 'json']).default('html'))
    .option('--out <file>', 'where to write it (default: ./kpi-review-<quarter>-<lang>.<format>; - for stdout); the path written is printed')
    .action(async (opts: { period: string; lang: string; format: string; out?: string }) => (await import('./commands/report.js')).reportCommand(context().config, opts));

  program
    .command('explain')
    .description('why a KPI value is what it is: the value, its children, the previous period, the target, and the events it is made of (paged), late ones marked')
    .requiredOption('--grain <grain>', 'day, week, month, quarter or year')
    .requiredOption('--period <id>', 'the period id')
    .requiredOption('--kpi <id>', 'the KPI (kpi kpis lists them)')
    .requiredOption('--level <level>', 'company, region, store, department or channel')
    .option('--unit <id>', 'the unit of the level, e.g. R01, S001 (company: all)')
    .option('--revision <n>', 'a revision other than the current one (1 is as first reported)', (v: string) => {
      try {
        return parseUInt32(v, '--revision');
      } catch (err) {
        throw new InvalidArgumentError(describeError(err));
      }
    })
    .option('--page <n>', 'page of the rows, from 1', positiveInt)
    .option('--page-size <n>', 'rows per page (at most 5000)', positiveInt)
    .option('--late', 'list only the late rows: those that arrived after the first close')
    .option('--json', 'print the explanation as one JSON line')
    .action(async (opts: Parameters<typeof explainCommand>[1]) => (await import('./commands/explain.js')).explainCommand(context().config, opts));

  program
    .command('views')
    .description('the data dictionary: each documented view (v_…) analysts and Grafana read, with every column’s type and comment')
    .argument('[view]', 'only this view, e.g. v_kpi_values')
    .option('--json', 'print one JSON array: name, comment, columns (name, type, comment)')
    .action(async (view: string | undefined, opts: { json?: boolean }) => (await import('./commands/views.js')).viewsCommand(context().config, view, opts));

  program
    .command('dashboards')
    .description('Grafana dashboards generated from the KPI catalog and the scorecards')
    .command('build')
    .description('write the dashboards (and their alert rules) into infra/grafana, which docker-compose.yml provisions into Grafana')
    .option('--out <dir>', 'the Grafana folder to write into (default: infra/grafana in the checkout)')
    .option('--check', 'write nothing; exit with code 2 when the folder differs from what would be written')
    .action(async (opts: { out?: string; check?: boolean }) => (await import('./commands/dashboards.js')).dashboardsBuildCommand(context().config, opts));

  const schemas = program.command('schemas').description('event contracts published from the zod schemas');
  schemas
    .command('export')
    .description('write the JSON Schema of every event type and version, and the AsyncAPI document of the topics')
    .option('--out <dir>', 'folder to write into (default: schemas/generated in the checkout)')
    .option('--check', 'write nothing; exit with code 2 when the folder differs from what would be written')
    .action(async (opts: { out?: string; check?: boolean }) => (await import('./commands/schemas.js')).schemasExportCommand(opts));

  program
    .command('demo')
    .description('simulate a quarter, ingest it, close every day, week and month and the quarter, restate after late events, print ranked scorecards')
    .option('--quarter <id>', 'the quarter to simulate and close (it and ten days after it must be past)', '2026-Q3')
    .option('--stores <n>', 'number of stores', positiveInt, 20)
    .option('--regions <n>', 'number of regions', positiveInt, 4)
    .option('--seed <n>', 'random seed: the same seed gives the same events', positiveInt, 7)
    .option('--scale <factor>', 'volume multiplier; 1 is about 1,500 events per store and week', Number, 0.5)
    .option('--name <name>', "names the demo's topics (<name>.…), consumer group and task queue (kpi-<name>…) and workflow ids, so demos can run side by side", 'demo')
    .action(async (opts: { quarter: string; stores: number; regions: number; seed: number; scale: number; name: string }) => {
      if (!(opts.scale > 0 && opts.scale <= 5)) throw new UsageError(`--scale must be above 0 and at most 5, got ${opts.scale}`);
      if (!/^[a-z][a-z0-9-]{0,39}$/.test(opts.name)) throw new UsageError(`--name must be 1-40 lowercase letters, digits and -, starting with a letter; got ${JSON.stringify(opts.name)}`);
      const { config, logger } = context();
      await (await import('./commands/demo.js')).demoCommand(config, logger, opts);
    });

  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // commander has printed its own message for usage errors and --help.
    if (err instanceof Error && 'exitCode' in err && 'code' in err && String(err.code).startsWith('commander.')) {
      const code = Number(err.exitCode);
      process.exit(code === 0 ? 0 : EXIT_USAGE);
    }
    throw err;
  }
}

main(process.argv).then(
  () => process.exit(0),
  (raw: unknown) => {
    const err = explainWarehouseError(raw) ?? raw;
    const usage = err instanceof ConfigError || err instanceof UsageError;
    const denied = err instanceof UnauthenticatedError || err instanceof ForbiddenError;
    const known = err instanceof KpiError || err instanceof PrerequisiteError;
    process.stderr.write(`kpi: ${describeError(err)}\n`);
    if (!known && !usage && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(denied ? EXIT_DENIED : usage ? EXIT_USAGE : EXIT_FAILURE);
  },
);
