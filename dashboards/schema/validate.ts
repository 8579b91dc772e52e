/**
 * Checks a dashboard against dashboard.schema.json (see generate.ts): the SDK's v1
 * Dashboard with targets of our ClickHouse and Prometheus datasources, refusing unknown
 * keys. Grafana would tell only at load time, or never: it ignores a key it does not know.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type DefinedError, type ValidateFunction } from 'ajv';

const SCHEMA_FILE = new URL('dashboard.schema.json', import.meta.url);

let compiled: ValidateFunction | undefined;

/** Compiled on first use, once: the schema is draft-07, ajv's default. */
function validator(): ValidateFunction {
  // `id` is `number | null`, which the generator writes as a union of types.
  compiled ??= new Ajv({ strict: true, allowUnionTypes: true, allErrors: true }).compile(
    JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object,
  );
  return compiled;
}

/** One JSON Pointer step (RFC 6901). */
function step(key: string): string {
  return `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/**
 * "<json pointer>: <message>". A missing or unknown key is pointed at by its own name; the
 * document itself, which has no pointer of its own in a message, is `(root)`.
 */
function describe(error: DefinedError): string | undefined {
  const at = error.instancePath || '(root)';
  switch (error.keyword) {
    case 'required':
      return `${error.instancePath}${step(error.params.missingProperty)}: is required`;
    case 'additionalProperties':
      return `${error.instancePath}${step(error.params.additionalProperty)}: is not a known key`;
    case 'const':
      return `${at}: must be ${JSON.stringify(error.params.allowedValue)}`;
    case 'enum':
      return `${at}: must be one of ${error.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'if':
      // Only says which branch failed; that branch's own errors are reported.
      return undefined;
    default:
      return `${at}: ${error.message ?? error.keyword}`;
  }
}

/**
 * The problems of a dashboard, empty when it is valid. It is checked as JSON, as it is
 * written to a file: builder output can be passed as is (the SDK's marker methods and
 * undefined fields vanish, as they do in the file).
 */
export function validateDashboard(json: unknown): string[] {
  const text = JSON.stringify(json);
  if (text === undefined) return ['(root): is not a JSON value'];
  const validate = validator();
  if (validate(JSON.parse(text))) return [];
  const problems = ((validate.errors ?? []) as DefinedError[]).map(describe).filter((p) => p !== undefined);
  return [...new Set(problems)];
}
