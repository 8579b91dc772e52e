import type { z } from 'zod';
import { UsageError } from '../shared/errors.js';

/**
 * Checking what a request carries: every problem named with where it is, as a 400. The
 * HTTP routes validate here, where data enters; the code behind them trusts it.
 */

/** The value, parsed by `schema`, or a UsageError listing each problem (`rows.0.value: …`). */
export function valid<T extends z.ZodType>(schema: T, value: unknown, where = 'body'): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.') || where}: ${i.message}`).join('; '));
  return parsed.data;
}

/** A JSON body kept as text (its SHA-256 is recorded), parsed and checked. */
export function validJson<T extends z.ZodType>(schema: T, text: unknown): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(typeof text === 'string' ? text : '');
  } catch {
    throw new UsageError('the body is not valid JSON');
  }
  return valid(schema, json);
}
