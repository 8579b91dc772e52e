import { z } from 'zod';
import { compileFastCheck } from '../../../schemas/events/fast-check.js';
import { EVENT_SCHEMAS } from '../../../schemas/events/registry.js';
import { generateEvents } from '../../../services/simulator/generate.js';
import { samples, type Json } from './sample-events.js';

// The compiled contracts must accept exactly what zod accepts, and leave an accepted value
// as zod's output (defaults filled in). Both are asked about the same values: every sample,
// a simulated stream with every option, and each sample with every field changed, removed
// or joined by an unknown one.

type Schema = z.ZodType;
const schemaOf = (type: string, version: number): Schema => (EVENT_SCHEMAS as unknown as Record<string, { versions: Record<number, Schema> }>)[type]?.versions[version] as Schema;

/** JSON with every object's keys sorted: equal texts, equal values, whatever the key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/** Whether both agree on `value`; when both accept, whether the compiled one left zod's output. */
function agree(schema: Schema, value: unknown): { fast: boolean; zod: boolean; sameOutput: boolean } {
  const check = compileFastCheck(schema);
  if (!check) throw new Error('an event contract did not compile');
  const mine = structuredClone(value);
  const theirs = structuredClone(value);
  const fast = check(mine);
  const parsed = schema.safeParse(theirs);
  return { fast, zod: parsed.success, sameOutput: !fast || !parsed.success || canonical(mine) === canonical(parsed.data) };
}

/** Values a hostile or careless producer might put anywhere. */
const ODD_VALUES: unknown[] = [
  '', ' ', 'x'.repeat(200), '中文标签', 'a\u0000b', 'a\u202eb', '\u2028', 'S001', 'CNY', 'XTS', 'cny', '0', '0.1234567', '-1', '1e3', '12.50',
  '2026-02-30T10:00:00+08:00', '2026-07-15T24:00:00Z', '2026-07-15T09:30:00+15:00', '1999-12-31T23:59:59Z', '2026-07-15T09:30:00', '2026-07-15T09:30:00.123456789Z',
  0, -1, 1, 1.5, 2 ** 53, 1e13, 1e16, Number.MAX_SAFE_INTEGER + 2, true, false, null, [], [1], {}, { a: 1 },
];

/** Every path to a value inside `doc`, objects and arrays included. */
function paths(doc: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof doc !== 'object' || doc === null) return [at];
  const keys: (string | number)[] = Array.isArray(doc) ? doc.map((_, i) => i) : Object.keys(doc);
  return [at, ...keys.flatMap((k) => paths((doc as Record<string | number, unknown>)[k], [...at, k]))];
}

function withChange(doc: Json, path: (string | number)[], change: (holder: Record<string | number, unknown>, key: string | number) => void): Json {
  const copy = structuredClone(doc);
  let holder = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) holder = holder[key] as Record<string | number, unknown>;
  change(holder, path.at(-1) as string | number);
  return copy;
}

describe('compiled event contracts', () => {
  it('compile for every type and version', () => {
    for (const [type, entry] of Object.entries(EVENT_SCHEMAS)) {
      for (const version of Object.keys(entry.versions)) expect([type, version, compileFastCheck(schemaOf(type, Number(version))) !== undefined]).toEqual([type, version, true]);
    }
  });

  it('accept every sample and every simulated event, as zod does, leaving its output', () => {
    const sim = generateEvents({ from: '2026-03-01', to: '2026-03-03', stores: 8, seed: 11, largeSales: 0.01, finePrices: 0.3, currencies: ['HKD', 'USD'] });
    const docs = [...samples().map((s) => s.event), ...sim.messages.map((m) => JSON.parse(m.value.toString('utf8')) as Json)];
    expect(docs.length).toBeGreaterThan(1_000);
    for (const doc of docs) {
      const schema = schemaOf(doc['type'] as string, doc['version'] as number);
      if (!schema) continue;
      expect(agree(schema, doc)).toEqual({ fast: true, zod: true, sameOutput: true });
    }
  });

  it('agree with zod on every field of every sample changed, removed or joined by another', () => {
    let refused = 0;
    let compared = 0;
    for (const s of samples()) {
      const schema = schemaOf(s.type, s.version);
      const doc = s.event;
      for (const path of paths(doc)) {
        const variants: Json[] = [];
        if (path.length > 0) {
          for (const odd of ODD_VALUES) variants.push(withChange(doc, path, (h, k) => void (h[k] = structuredClone(odd))));
          variants.push(withChange(doc, path, (h, k) => (Array.isArray(h) ? h.splice(Number(k), 1) : delete h[k])));
        }
        const target = path.length === 0 ? doc : path.reduce<unknown>((d, k) => (d as Record<string | number, unknown>)[k], doc);
        if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
          variants.push(withChange({ root: doc }, ['root', ...path, 'unexpected'], (h, k) => void (h[k] = 1))['root'] as Json);
          variants.push(withChange({ root: doc }, ['root', ...path, '__proto__'], (h, k) => void Object.defineProperty(h, k, { value: {}, enumerable: true })));
        }
        for (const variant of variants) {
          const result = agree(schema, variant);
          compared += 1;
          if (!result.zod) refused += 1;
          expect({ path: path.join('.'), ...result }).toEqual({ path: path.join('.'), fast: result.zod, zod: result.zod, sameOutput: true });
        }
      }
    }
    // Most changes break the contract; enough must not, or only refusals were compared.
    expect(refused).toBeGreaterThan(compared / 2);
    expect(compared - refused).toBeGreaterThan(100);
  });

  it('leave to zod what they do not cover', () => {
    expect(compileFastCheck(z.object({ a: z.string() }))).toBeUndefined(); // strips unknown keys
    expect(compileFastCheck(z.object({ a: z.string().transform((v) => v.length) }).strict())).toBeUndefined();
    expect(compileFastCheck(z.object({ a: z.union([z.string(), z.number()]) }).strict())).toBeUndefined();
    expect(compileFastCheck(z.object({ a: z.coerce.number() }).strict())).toBeUndefined();
    expect(compileFastCheck(z.object({ a: z.string().nullable() }).strict())).toBeUndefined();
  });

  it('refuse, for zod to explain, a value whose check throws', () => {
    const schema = z.object({ a: z.string().refine(() => { throw new Error('boom'); }) }).strict();
    expect(compileFastCheck(schema)?.({ a: 'x' })).toBe(false);
  });
});
