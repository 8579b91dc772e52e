import type { z } from 'zod';

/**
 * Event contracts compiled into plain predicates, for the hot path of ingest. The zod
 * schemas stay the one source of truth: this walks each schema's definition and builds,
 * node by node, a check that accepts exactly what the schema accepts, calling the schema's
 * own checks (regexes, lengths, bounds, refinements) without zod's per-node bookkeeping
 * (issue lists, paths, cloned output). A value the predicate refuses is parsed again by zod
 * for its readable reason, so only "valid" must agree, and it is applied in place: a
 * missing field with a default gets it, as zod's output would.
 *
 * Only what the event contracts use is compiled: strict objects, strings, numbers,
 * booleans, literals, enums, arrays, optional and defaulted fields, and checks. A schema
 * with anything else compiles to undefined, and its events go through zod alone.
 */
export type FastCheck = (value: unknown) => boolean;

interface Check {
  _zod: {
    def: { check: string; format?: string; pattern?: RegExp; value?: unknown; inclusive?: boolean };
    check(payload: { value: unknown; issues: unknown[] }): unknown;
  };
}

interface Def {
  type: string;
  checks?: Check[];
  coerce?: boolean;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  innerType?: z.ZodType;
  defaultValue?: unknown;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;
const valuesOf = (schema: z.ZodType): ReadonlySet<unknown> | undefined => (schema as unknown as { _zod: { values?: Set<unknown> } })._zod.values;

/** A compiled node: true when `value` is valid; `holder[key]` may receive a default. */
type Node = (value: unknown) => boolean;

class Unsupported extends Error {}

/**
 * One check as a predicate. The plainest kinds (a regex, a bound, an integer) are tested
 * directly, exactly as zod tests them; every other kind (lengths, refinements) runs the
 * schema's own check function and looks for an issue.
 */
function compileCheck(check: Check): Node {
  const def = check._zod.def;
  if (def.check === 'string_format' && def.format === 'regex' && def.pattern instanceof RegExp) {
    const pattern = def.pattern;
    return (v) => {
      pattern.lastIndex = 0;
      return pattern.test(v as string);
    };
  }
  if ((def.check === 'greater_than' || def.check === 'less_than') && typeof def.value === 'number') {
    const bound = def.value;
    if (def.check === 'greater_than') return def.inclusive ? (v) => (v as number) >= bound : (v) => (v as number) > bound;
    return def.inclusive ? (v) => (v as number) <= bound : (v) => (v as number) < bound;
  }
  if (def.check === 'number_format' && def.format === 'safeint') return (v) => Number.isSafeInteger(v);
  const payload = { value: undefined as unknown, issues: [] as unknown[] };
  return (v) => {
    payload.value = v;
    if (payload.issues.length > 0) payload.issues = [];
    const ran = check._zod.check(payload);
    if (ran instanceof Promise) throw new Unsupported('asynchronous check');
    return payload.issues.length === 0;
  };
}

/** A node and its schema's checks, in order; the first refusal ends it (zod would refuse too). */
function withChecks(base: Node, checks: readonly Check[] | undefined): Node {
  if (!checks || checks.length === 0) return base;
  const compiled = checks.map(compileCheck);
  return (value) => {
    if (!base(value)) return false;
    for (let i = 0; i < compiled.length; i += 1) if (!(compiled[i] as Node)(value)) return false;
    return true;
  };
}

function compileNode(schema: z.ZodType): Node {
  const def = defOf(schema);
  if (def.coerce) throw new Unsupported('coercion');
  switch (def.type) {
    case 'string':
      return withChecks((v) => typeof v === 'string', def.checks);
    case 'number':
      return withChecks((v) => typeof v === 'number' && Number.isFinite(v), def.checks);
    case 'boolean':
      return withChecks((v) => typeof v === 'boolean', def.checks);
    case 'literal':
    case 'enum': {
      const values = valuesOf(schema);
      if (!values) throw new Unsupported(`${def.type} without values`);
      return withChecks((v) => values.has(v), def.checks);
    }
    case 'array': {
      if (!def.element) throw new Unsupported('array without element');
      const element = compileNode(def.element);
      return withChecks((v) => {
        if (!Array.isArray(v)) return false;
        for (let i = 0; i < v.length; i += 1) if (!element(v[i])) return false;
        return true;
      }, def.checks);
    }
    case 'object':
      return withChecks(compileObject(def), def.checks);
    default:
      throw new Unsupported(def.type);
  }
}

function compileObject(def: Def): Node {
  // Strict objects only: their output is their input, with defaults filled in.
  if (!def.catchall || defOf(def.catchall).type !== 'never' || !def.shape) throw new Unsupported('non-strict object');
  const fields = Object.entries(def.shape).map(([key, schema]) => {
    const d = defOf(schema);
    if (d.type === 'optional' && d.innerType) return { key, mode: 'optional' as const, check: compileNode(d.innerType), schema: d };
    if (d.type === 'default' && d.innerType) return { key, mode: 'default' as const, check: compileNode(d.innerType), schema: d };
    return { key, mode: 'required' as const, check: compileNode(schema), schema: d };
  });
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const record = value as Record<string, unknown>;
    // No key beyond the fields: as many keys as fields present (counting inherited
    // enumerable ones too, which only makes it stricter).
    let keys = 0;
    for (const key in record) if (typeof key === 'string') keys += 1;
    let present = 0;
    for (const field of fields) {
      const v = record[field.key];
      if (v !== undefined) present += 1;
      if (v === undefined) {
        if (field.mode === 'optional') continue;
        if (field.mode === 'default') {
          record[field.key] = field.schema.defaultValue;
          continue;
        }
        return false;
      }
      if (!field.check(v)) return false;
    }
    return keys === present;
  };
}

/** The schema as a predicate, or undefined when it uses what is not compiled here. */
export function compileFastCheck(schema: z.ZodType): FastCheck | undefined {
  let node: Node;
  try {
    node = compileNode(schema);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
  return (value) => {
    try {
      return node(value);
    } catch {
      // A check that throws (or one that turns out asynchronous) is zod's to report.
      return false;
    }
  };
}
