import { MAX_EVENT_BYTES, REJECT_REASONS, decodeEvent } from '../../../schemas/events/decode.js';
import { MAX_SALE_LINES } from '../../../schemas/events/common.js';
import { EVENT_SCHEMAS, FAMILY_TOPIC_MAX_BYTES, TOPICS, type BusinessEvent } from '../../../schemas/events/registry.js';
import { generateEvents } from '../../../services/simulator/generate.js';
import { MALFORMED_CATALOG, MALFORMED_KINDS } from '../../../services/simulator/malformed.js';
import { Rng } from '../../../services/simulator/rng.js';

const NOW = Date.now();

/** One valid event of every type and version, from a small simulated run. */
function oneOfEach(): BusinessEvent[] {
  const { messages } = generateEvents({ from: '2026-03-02', to: '2026-03-04', stores: 6, seed: 11 });
  const byVariant = new Map<string, BusinessEvent>();
  for (const m of messages) {
    const e = m.event as BusinessEvent;
    const variant = `${e.type}@${e.version}`;
    if (!byVariant.has(variant)) byVariant.set(variant, e);
  }
  return [...byVariant.values()];
}

describe('malformed catalog', () => {
  const bases = oneOfEach();

  it('covers every event type and both sale versions in its fixtures', () => {
    expect(new Set(bases.map((e) => e.type))).toEqual(new Set(Object.keys(EVENT_SCHEMAS)));
    expect(bases.filter((e) => e.type === 'sale.completed').map((e) => e.version).sort()).toEqual([1, 2]);
  });

  it('has at least 22 distinct kinds with known reject codes', () => {
    expect(MALFORMED_KINDS.length).toBeGreaterThanOrEqual(22);
    expect(new Set(MALFORMED_KINDS).size).toBe(MALFORMED_KINDS.length);
    for (const spec of MALFORMED_CATALOG) {
      expect(spec.rejectedAs.length).toBeGreaterThan(0);
      for (const code of spec.rejectedAs) expect(REJECT_REASONS).toContain(code);
    }
  });

  describe.each(MALFORMED_CATALOG.map((spec) => [spec.kind, spec] as const))('%s', (_kind, spec) => {
    it('is rejected by decodeEvent with its reject code, built from any event type', () => {
      for (const base of bases) {
        // Several draws, so that every variant a kind picks from is exercised.
        for (let draw = 0; draw < 8; draw += 1) {
          const rng = new Rng('malformed-test', spec.kind, base.type, draw);
          const message = spec.make(rng, base);
          const result = decodeEvent(message.value, { topic: message.topic, timestampMs: NOW });
          if (result.ok) throw new Error(`${spec.kind} from ${base.type} accepted: ${message.value.toString('utf8').slice(0, 400)}`);
          expect(spec.rejectedAs).toContain(result.code);
          expect(Object.values(TOPICS)).toContain(message.topic);
          const sameAsValid = message.topic === TOPICS[EVENT_SCHEMAS[base.type].family] && message.value.equals(Buffer.from(JSON.stringify(base)));
          expect(sameAsValid).toBe(false);
        }
      }
    });
  });

  it('makes oversized messages larger than MAX_EVENT_BYTES, otherwise valid while the schema allows', () => {
    const spec = MALFORMED_CATALOG.find((k) => k.kind === 'oversized');
    const sale = bases.find((e) => e.type === 'sale.completed');
    if (!spec || !sale) throw new Error('fixture missing');
    const message = spec.make(new Rng('oversized'), sale);
    expect(message.value.length).toBeGreaterThan(MAX_EVENT_BYTES);
    // Sendable: under the family topics' max.message.bytes, so ingest is the one to refuse it.
    expect(message.value.length).toBeLessThan(FAMILY_TOPIC_MAX_BYTES);
    const parsed = JSON.parse(message.value.toString('utf8')) as { payload: { lines: unknown[] } };
    if (parsed.payload.lines.length <= MAX_SALE_LINES) {
      const schema = EVENT_SCHEMAS['sale.completed'].versions[sale.version];
      expect(schema.safeParse(parsed).success).toBe(true);
    }
  });
});
