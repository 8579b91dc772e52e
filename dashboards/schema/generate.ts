/**
 * `npm run dashboards:schema`: writes dashboard.schema.json, the JSON Schema of the SDK's
 * v1 `Dashboard` with every target narrowed to a query of one of our two datasources
 * (datasources.ts), so generated dashboards are checked without a Grafana server
 * (validate.ts). The output is a pure function of the installed SDK, clickhouse.ts and
 * datasources.ts: a unit test regenerates it and compares, so an SDK bump or a changed
 * target shows up as a stale file.
 */
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGenerator, type Config, type Schema } from 'ts-json-schema-generator';
import { PROMETHEUS } from '../datasources.js';

/** The checked-in schema, beside this file. */
export const SCHEMA_FILE = fileURLToPath(new URL('dashboard.schema.json', import.meta.url));

const CLICKHOUSE_TS = fileURLToPath(new URL('../clickhouse.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

/** The declarations of one of the SDK's packages (`dashboard`, `prometheus`), wherever npm put it. */
function sdkTypes(pkg: string): string {
  const entry = createRequire(import.meta.url).resolve(`@grafana/grafana-foundation-sdk/${pkg}`);
  return path.join(path.dirname(entry), 'types.gen.d.ts');
}

const COMMON: Config = {
  // Declarations only: type checking them again would only cost time.
  skipTypeCheck: true,
  // Objects refuse keys they do not declare: a misspelled key is an error, not ignored.
  additionalProperties: false,
  // The SDK marks queries with a method (`_implementsDataqueryVariant`); JSON has none.
  functions: 'hide',
};

function generate(file: string, type: string, tsconfig?: string): Schema {
  return createGenerator({ ...COMMON, path: file, type, ...(tsconfig ? { tsconfig } : {}) }).createSchema(type);
}

/** A named definition of a generated schema; fails when the SDK no longer has it. */
function definition(schema: Schema, name: string): Schema {
  const found = schema.definitions?.[name];
  if (typeof found !== 'object') throw new Error(`the generated schema has no definition ${name}: did the SDK change?`);
  return found;
}

/** A property of an object definition; fails when it is not there. */
function property(schema: Schema, name: string): Schema {
  const found = schema.properties?.[name];
  if (typeof found !== 'object') throw new Error(`the generated schema has no property ${name}: did the SDK change?`);
  return found;
}

/**
 * A generated schema's definitions renamed `<prefix>.<name>`, with the references among
 * them, so two SDK packages' names cannot clash (both have a `Dataquery`).
 */
function prefixed(schema: Schema, prefix: string): Record<string, Schema> {
  const defs = JSON.parse(JSON.stringify(schema.definitions ?? {}).replaceAll('"#/definitions/', `"#/definitions/${prefix}.`)) as Record<string, Schema>;
  return Object.fromEntries(Object.entries(defs).map(([name, def]) => [`${prefix}.${name}`, def]));
}

/** The SDK's Dashboard, its open slots narrowed to what our dashboards hold. */
export function dashboardSchema(): Schema {
  const schema = generate(sdkTypes('dashboard'), 'Dashboard');

  // `cog.Dataquery` is the SDK's open slot for any datasource's query (panel targets,
  // annotation targets). Ours go to ClickHouse (our own type: the SDK has none) or to
  // Prometheus (the SDK's type); the datasource's type picks which, so a target gets the
  // errors of one shape, and one naming another datasource is held to ClickHouse's.
  const target = definition(generate(CLICKHOUSE_TS, 'ClickHouseTarget', TSCONFIG), 'ClickHouseTarget');
  // The type cannot say "non-empty"; a panel with an empty query shows nothing.
  property(target, 'rawSql').minLength = 1;
  const prometheus = prefixed(generate(sdkTypes('prometheus'), 'Dataquery'), 'prometheus');
  definition(schema, 'Dataquery');
  schema.definitions = {
    ...schema.definitions,
    Dataquery: {
      $comment: 'Narrowed by generate.ts: a Prometheus query when its datasource says so, else a ClickHouse query.',
      if: {
        type: 'object',
        properties: { datasource: { type: 'object', properties: { type: { const: PROMETHEUS.type } }, required: ['type'] } },
        required: ['datasource'],
      },
      then: { $ref: '#/definitions/prometheus.Dataquery' },
      else: { $ref: '#/definitions/ClickHouseTarget' },
    },
    ClickHouseTarget: target,
    ...prometheus,
  };

  // `panels` is `(Panel | RowPanel)[]`: as an anyOf, a bad panel gets the errors of both
  // branches. Grafana itself picks by `type`, so the schema does too, and errors name one.
  const panels = property(definition(schema, 'Dashboard'), 'panels');
  const rowOrPanel = JSON.stringify(panels.items);
  if (rowOrPanel !== JSON.stringify({ anyOf: [{ $ref: '#/definitions/Panel' }, { $ref: '#/definitions/RowPanel' }] })) {
    throw new Error(`Dashboard.panels items are no longer Panel | RowPanel: ${rowOrPanel}`);
  }
  panels.items = {
    if: { type: 'object', properties: { type: { const: 'row' } }, required: ['type'] },
    then: { $ref: '#/definitions/RowPanel' },
    else: { $ref: '#/definitions/Panel' },
  };
  return schema;
}

/** The file's exact text: two-space indented, with a final newline. */
export function renderDashboardSchema(): string {
  return `${JSON.stringify(dashboardSchema(), null, 2)}\n`;
}

async function main(): Promise<void> {
  await writeFile(SCHEMA_FILE, renderDashboardSchema(), 'utf8');
  process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}\n`);
}

// Run as a script, not when a test imports the generator.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`dashboards:schema: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
