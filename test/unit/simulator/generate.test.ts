import { isDeepStrictEqual } from 'node:util';
import { decodeEvent } from '../../../schemas/events/decode.js';
import { EVENT_SCHEMAS, TOPICS, entityKey, type BusinessEvent } from '../../../schemas/events/registry.js';
import { APPROX_EVENTS_PER_STORE_DAY, generateEvents, type GenerateOptions, type SimMessage } from '../../../services/simulator/generate.js';
import { MALFORMED_CATALOG, MALFORMED_KINDS } from '../../../services/simulator/malformed.js';

const NOW = Date.now();
const BASE: GenerateOptions = { from: '2026-03-02', to: '2026-03-15', stores: 4, seed: 7 };
const FAULTS = { duplicates: 0.05, malformed: 0.04, late: 0.03, outOfOrder: 0.05 };

const decode = (m: { topic: string; value: Buffer }) => decodeEvent(m.value, { topic: m.topic, timestampMs: NOW });
const validOf = (messages: SimMessage[]) => messages.filter((m) => m.kind === 'valid');
const bytesKey = (m: { topic: string; key: string | null; value: Buffer }) => `${m.topic}\u0000${m.key ?? ''}\u0000${m.value.toString('base64')}`;

describe('generateEvents', () => {
  const run = generateEvents({ ...BASE, ...FAULTS });
  const { messages, ledger } = run;
  const valid = validOf(messages);

  it('is deterministic: the same options give the same bytes in the same order', () => {
    const again = generateEvents({ ...BASE, ...FAULTS });
    expect(again.messages.length).toBe(messages.length);
    expect(again.messages.map(bytesKey)).toEqual(messages.map(bytesKey));
    expect(again.messages.map((m) => m.kind)).toEqual(messages.map((m) => m.kind));
    expect(again.ledger).toEqual(ledger);
  });

  it('gives a different stream for a different seed', () => {
    const other = generateEvents({ ...BASE, ...FAULTS, seed: 8 });
    const ours = new Set(messages.map(bytesKey));
    expect(other.messages.filter((m) => ours.has(bytesKey(m)))).toHaveLength(0);
    expect(other.ledger.money.saleLinesNetMinor).not.toBe(ledger.money.saleLinesNetMinor);
  });

  it('draws faults from their own stream: the valid events do not depend on them', () => {
    const clean = generateEvents(BASE);
    expect(clean.messages.every((m) => m.kind === 'valid' && !m.late && !m.outOfOrder)).toBe(true);
    const sortById = (ms: SimMessage[]) => ms.map(bytesKey).sort();
    expect(sortById(valid)).toEqual(sortById(clean.messages));
  });

  it('makes events that every schema accepts, on their family topic, keyed by entity', () => {
    expect(valid.length).toBeGreaterThan(1_000);
    const wrong: string[] = [];
    for (const m of valid) {
      const result = decode(m);
      if (!result.ok) throw new Error(`${m.value.toString('utf8')} rejected: ${result.code} ${result.reason}`);
      const event = m.event as BusinessEvent;
      // The bytes are the event: decoding gives back the object it was made from.
      if (!isDeepStrictEqual(result.event, JSON.parse(m.value.toString('utf8')))) wrong.push(`decoded differently: ${event.event_id}`);
      if (m.topic !== TOPICS[EVENT_SCHEMAS[event.type].family]) wrong.push(`topic of ${event.event_id}`);
      if (m.key !== entityKey(event)) wrong.push(`key of ${event.event_id}`);
    }
    expect(wrong).toEqual([]);
    expect(valid.every((m) => isDeepStrictEqual(JSON.parse(m.value.toString('utf8')), m.event))).toBe(true);
  });

  it('gives every valid event a unique, seed-named id, a business-zone offset and an org unit', () => {
    const ids = valid.map((m) => (m.event as BusinessEvent).event_id);
    expect(new Set(ids).size).toBe(ids.length);
    const odd = valid
      .map((m) => m.event as BusinessEvent)
      .filter(
        (e) =>
          !/^ev-7-S00[1-4]-202603\d\d-\d+$/.test(e.event_id) ||
          !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/.test(e.occurred_at) ||
          !/^S00[1-4]$/.test(e.org.store) ||
          e.org.region !== run.org.stores.find((s) => s.id === e.org.store)?.region ||
          !['sales', 'fulfilment', 'service'].includes(e.org.department),
      );
    expect(odd).toEqual([]);
  });

  it('keeps events between the first day and ten days after the last', () => {
    const first = Date.parse('2026-03-02T00:00:00+08:00');
    const horizon = Date.parse('2026-03-26T00:00:00+08:00');
    const times = valid.map((m) => Date.parse((m.event as BusinessEvent).occurred_at));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(first);
    expect(Math.max(...times)).toBeLessThan(horizon);
    // Follow-ups of the last days do run past `to`.
    expect(times.some((t) => t >= Date.parse('2026-03-16T00:00:00+08:00'))).toBe(true);
  });

  it('leaves out events after notAfterMs', () => {
    const cut = Date.parse('2026-03-10T12:00:00+08:00');
    const clipped = generateEvents({ ...BASE, notAfterMs: cut });
    const times = clipped.messages.map((m) => Date.parse((m.event as BusinessEvent).occurred_at));
    expect(Math.max(...times)).toBeLessThan(cut);
    // Ids do not shift: what remains is a subset of the unclipped run.
    const all = new Set(generateEvents(BASE).messages.map(bytesKey));
    expect(clipped.messages.every((m) => all.has(bytesKey(m)))).toBe(true);
  });

  it('agrees with an overlapping run on every shared store-day', () => {
    const week = generateEvents({ ...BASE, from: '2026-03-09', to: '2026-03-15' });
    const all = new Set(generateEvents(BASE).messages.map(bytesKey));
    expect(week.messages.every((m) => all.has(bytesKey(m)))).toBe(true);
  });

  it('keeps a ledger that matches the messages', () => {
    const count = (kind: SimMessage['kind']) => messages.filter((m) => m.kind === kind).length;
    expect(ledger.valid).toBe(count('valid'));
    expect(ledger.duplicates).toBe(count('duplicate'));
    expect(ledger.malformed).toBe(count('malformed'));
    expect(ledger.late).toBe(messages.filter((m) => m.late).length);
    expect(ledger.outOfOrder).toBe(messages.filter((m) => m.outOfOrder).length);

    const byType: Record<string, number> = {};
    for (const m of valid) {
      const result = decode(m);
      if (result.ok) byType[result.event.type] = (byType[result.event.type] ?? 0) + 1;
    }
    expect(ledger.byType).toEqual(byType);
    const byKind: Record<string, number> = {};
    for (const m of messages) if (m.kind === 'malformed') byKind[m.malformedKind ?? '?'] = (byKind[m.malformedKind ?? '?'] ?? 0) + 1;
    expect(ledger.byMalformedKind).toEqual(byKind);

    // Money recomputed from the bytes, not from the generator's objects.
    let lines = 0n;
    let refunds = 0n;
    let returns = 0n;
    for (const m of valid) {
      const e = JSON.parse(m.value.toString('utf8')) as { type: string; payload: Record<string, unknown> };
      if (e.type === 'sale.completed') {
        for (const l of e.payload['lines'] as { quantity: number; unit_price_minor: number; discount_minor?: number }[]) {
          lines += BigInt(l.quantity) * BigInt(l.unit_price_minor) - BigInt(l.discount_minor ?? 0);
        }
      }
      if (e.type === 'refund.issued') refunds += BigInt(e.payload['amount_minor'] as number);
      if (e.type === 'return.received') returns += BigInt(e.payload['amount_minor'] as number);
    }
    expect(ledger.money).toEqual({ saleLinesNetMinor: lines.toString(), refundsMinor: refunds.toString(), returnsAmountMinor: returns.toString() });
    expect(lines).toBeGreaterThan(0n);
    expect(refunds).toBeGreaterThan(0n);
  });

  it('makes every event type, with sales mostly v2 and 1-5 lines in integer minor units', () => {
    expect(Object.keys(ledger.byType).sort()).toEqual(Object.keys(EVENT_SCHEMAS).sort());
    const sales = valid.map((m) => m.event as BusinessEvent).filter((e) => e.type === 'sale.completed');
    const v1 = sales.filter((e) => e.version === 1).length;
    expect(v1).toBeGreaterThan(0);
    expect(v1 / sales.length).toBeLessThan(0.4);
    const lineCounts = new Set(sales.map((sale) => sale.payload.lines.length));
    expect([...lineCounts].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(sales.filter((e) => e.version === 3)).toEqual([]);
    const lines = sales.flatMap((sale) => (sale.version === 3 ? [] : sale.payload.lines));
    expect(lines.filter((l) => !Number.isInteger(l.unit_price_minor) || !Number.isInteger(l.discount_minor) || l.discount_minor > l.quantity * l.unit_price_minor)).toEqual([]);
    expect(new Set(lines.map((l) => l.category)).size).toBeGreaterThanOrEqual(6);
    expect(lines.some((l) => l.discount_minor > 0) && lines.some((l) => l.quantity > 1)).toBe(true);
  });

  it('sends duplicates as byte-identical copies of earlier valid messages', () => {
    const seen = new Set<string>();
    let duplicates = 0;
    for (const m of messages) {
      if (m.kind === 'valid') seen.add(bytesKey(m));
      if (m.kind === 'duplicate') {
        duplicates += 1;
        expect(seen.has(bytesKey(m))).toBe(true);
      }
    }
    expect(duplicates).toBe(ledger.duplicates);
    expect(duplicates).toBeGreaterThan(0);
  });

  it('sends late events after every on-time valid event, in time order', () => {
    const lastOnTime = messages.findLastIndex((m) => m.kind === 'valid' && !m.late);
    const late = messages.map((m, i) => [m, i] as const).filter(([m]) => m.late);
    expect(late.length).toBe(ledger.late);
    expect(late.length).toBeGreaterThan(0);
    for (const [m, i] of late) {
      expect(m.kind).toBe('valid');
      expect(i).toBeGreaterThan(lastOnTime);
    }
    const times = late.map(([m]) => Date.parse((m.event as BusinessEvent).occurred_at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('sends out-of-order follow-ups before the earlier event of their entity, on the same key', () => {
    const flagged = messages.filter((m) => m.outOfOrder);
    expect(flagged.length).toBe(ledger.outOfOrder);
    expect(flagged.length).toBeGreaterThan(0);
    const position = new Map(messages.map((m, i) => [m, i]));
    const onTime = valid.filter((m) => !m.late);
    for (const m of flagged) {
      const at = Date.parse((m.event as BusinessEvent).occurred_at);
      const sameEntity = onTime.filter((o) => o.topic === m.topic && o.key === m.key && o !== m);
      const earlierSentLater = sameEntity.filter((o) => Date.parse((o.event as BusinessEvent).occurred_at) < at && (position.get(o) ?? 0) > (position.get(m) ?? 0));
      expect(earlierSentLater.length).toBeGreaterThanOrEqual(1);
    }
  });

  it('keeps each entity in time order when there are no faults', () => {
    const clean = generateEvents(BASE).messages;
    const last = new Map<string, number>();
    const backwards: string[] = [];
    for (const m of clean) {
      const id = `${m.topic}|${m.key}`;
      const at = Date.parse((m.event as BusinessEvent).occurred_at);
      if (at < (last.get(id) ?? 0)) backwards.push(id);
      last.set(id, at);
    }
    expect(backwards).toEqual([]);
  });

  it('respects the fault fractions', () => {
    expect(ledger.duplicates / ledger.valid).toBeCloseTo(FAULTS.duplicates, 2);
    expect(ledger.malformed / ledger.valid).toBeCloseTo(FAULTS.malformed, 2);
    expect(ledger.late / ledger.valid).toBeCloseTo(FAULTS.late, 2);
    const followUps = new Map<string, number>();
    for (const m of valid) if (!m.late) followUps.set(`${m.topic}|${m.key}`, (followUps.get(`${m.topic}|${m.key}`) ?? -1) + 1);
    const candidates = [...followUps.values()].reduce((a, b) => a + b, 0);
    expect(Math.abs(ledger.outOfOrder / candidates - FAULTS.outOfOrder)).toBeLessThan(0.01);
  });

  it('makes malformed messages of every kind, all rejected, none equal to a valid message', () => {
    expect(ledger.malformed).toBeGreaterThanOrEqual(MALFORMED_KINDS.length);
    expect(Object.keys(ledger.byMalformedKind).sort()).toEqual([...MALFORMED_KINDS].sort());
    // Round-robin: kinds without a cap come equally often; capped kinds stop at their cap.
    const caps = new Map(MALFORMED_CATALOG.map((k) => [k.kind, k.maxPerRun]));
    const counts = Object.entries(ledger.byMalformedKind).filter(([kind]) => caps.get(kind) === undefined).map(([, n]) => n);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    for (const [kind, n] of Object.entries(ledger.byMalformedKind)) expect(n).toBeLessThanOrEqual(caps.get(kind) ?? Infinity);
    const validValues = new Set(valid.map((m) => m.value.toString('base64')));
    const rejectedAs = new Map(MALFORMED_CATALOG.map((k) => [k.kind, k.rejectedAs]));
    for (const m of messages.filter((x) => x.kind === 'malformed')) {
      const result = decode(m);
      if (result.ok) throw new Error(`${m.malformedKind} accepted: ${m.value.toString('utf8').slice(0, 300)}`);
      expect(rejectedAs.get(m.malformedKind ?? '')).toContain(result.code);
      expect(validValues.has(m.value.toString('base64'))).toBe(false);
      expect(Object.values(TOPICS)).toContain(m.topic);
    }
  });

  it('makes every malformed kind at least once when there are as many malformed messages as kinds', () => {
    const small = generateEvents({ ...BASE, from: '2026-03-02', to: '2026-03-02', stores: 1 });
    const malformed = MALFORMED_KINDS.length / small.ledger.valid;
    const run2 = generateEvents({ ...BASE, from: '2026-03-02', to: '2026-03-02', stores: 1, malformed });
    expect(run2.ledger.malformed).toBe(MALFORMED_KINDS.length);
    expect(Object.keys(run2.ledger.byMalformedKind).sort()).toEqual([...MALFORMED_KINDS].sort());
  });
});

describe('generateEvents: realistic shape', () => {
  const big = generateEvents({ from: '2026-04-06', to: '2026-05-03', stores: 10, seed: 3 });
  const events = big.messages.map((m) => m.event as BusinessEvent);

  it('makes about 1,500 events per store and week at scale 1', () => {
    const perStoreWeek = big.ledger.valid / 10 / 4;
    expect(perStoreWeek).toBeGreaterThan(1_200);
    expect(perStoreWeek).toBeLessThan(1_900);
    expect(big.ledger.valid / (10 * 28)).toBeGreaterThan(APPROX_EVENTS_PER_STORE_DAY * 0.8);
    expect(big.ledger.valid / (10 * 28)).toBeLessThan(APPROX_EVENTS_PER_STORE_DAY * 1.25);
  });

  it('scales volume with scale', () => {
    const half = generateEvents({ from: '2026-04-06', to: '2026-04-12', stores: 10, seed: 3, scale: 0.5 });
    const full = generateEvents({ from: '2026-04-06', to: '2026-04-12', stores: 10, seed: 3 });
    expect(half.ledger.valid / full.ledger.valid).toBeGreaterThan(0.4);
    expect(half.ledger.valid / full.ledger.valid).toBeLessThan(0.6);
  });

  it('gives stores different on-time delivery rates that follow their traits', () => {
    const promised = new Map<string, number>();
    const rate = new Map<string, { onTime: number; delivered: number }>();
    for (const e of events) {
      if (e.type === 'order.placed') promised.set(e.payload.order_id, Date.parse(e.payload.promised_delivery_at));
    }
    for (const e of events) {
      if (e.type !== 'order.delivered') continue;
      const due = promised.get(e.payload.order_id);
      if (due === undefined) continue;
      const r = rate.get(e.org.store) ?? { onTime: 0, delivered: 0 };
      r.delivered += 1;
      if (Date.parse(e.occurred_at) <= due) r.onTime += 1;
      rate.set(e.org.store, r);
    }
    const measured = big.org.stores.map((s) => {
      const r = rate.get(s.id) ?? { onTime: 0, delivered: 1 };
      return { trait: s.traits.onTimeProbability, measured: r.onTime / r.delivered };
    });
    const values = measured.map((m) => m.measured);
    expect(Math.max(...values) - Math.min(...values)).toBeGreaterThan(0.05);
    for (const m of measured) expect(Math.abs(m.measured - m.trait)).toBeLessThan(0.06);
    expect(correlation(measured.map((m) => m.trait), values)).toBeGreaterThan(0.8);
  });

  it('gives stores different CSAT and complaint levels', () => {
    const ratings = new Map<string, number[]>();
    for (const e of events) if (e.type === 'ticket.rated') ratings.set(e.org.store, [...(ratings.get(e.org.store) ?? []), e.payload.rating]);
    const csat = big.org.stores.map((s) => mean(ratings.get(s.id) ?? []));
    expect(Math.max(...csat) - Math.min(...csat)).toBeGreaterThan(0.4);
    expect(correlation(big.org.stores.map((s) => s.traits.csatMean), csat)).toBeGreaterThan(0.7);
  });

  it('is busier at weekends for walk-in sales', () => {
    const weekday = [0, 0, 0, 0, 0, 0, 0];
    for (const e of events) {
      if (e.type !== 'sale.completed' || e.org.channel !== 'store') continue;
      const day = new Date(`${e.occurred_at.slice(0, 10)}T00:00:00Z`).getUTCDay();
      weekday[day] = (weekday[day] ?? 0) + 1;
    }
    const weekend = ((weekday[0] ?? 0) + (weekday[6] ?? 0)) / 2;
    const midweek = ((weekday[1] ?? 0) + (weekday[2] ?? 0) + (weekday[3] ?? 0)) / 3;
    expect(weekend / midweek).toBeGreaterThan(1.3);
  });

  it('opens walk-in sales during opening hours, local time', () => {
    const hours = new Set(events.filter((e) => e.type === 'sale.completed' && e.org.channel === 'store').map((e) => Number(e.occurred_at.slice(11, 13))));
    expect(Math.min(...hours)).toBe(9);
    expect(Math.max(...hours)).toBe(21);
  });

  it('follows a zone with daylight saving time', () => {
    const ny = generateEvents({ from: '2026-03-06', to: '2026-03-10', stores: 2, seed: 1, timeZone: 'America/New_York' });
    const offsets = new Set(ny.messages.map((m) => (m.event as BusinessEvent).occurred_at.slice(19)));
    expect([...offsets].sort()).toEqual(['-04:00', '-05:00']);
    expect(ny.messages.filter((m) => !decode(m).ok)).toEqual([]);
  });
});

describe('generateEvents: options', () => {
  it.each<[string, Partial<GenerateOptions>]>([
    ['an impossible date', { from: '2026-02-30' }],
    ['from after to', { from: '2026-03-16' }],
    ['a negative seed', { seed: -1 }],
    ['a fraction above 1', { duplicates: 1.5 }],
    ['more regions than stores', { regions: 5 }],
    ['no stores', { stores: 0 }],
    ['an unknown zone', { timeZone: 'Mars/Base' }],
    ['a zero scale', { scale: 0 }],
  ])('rejects %s', (_label, override) => {
    expect(() => generateEvents({ ...BASE, ...override })).toThrow(RangeError);
  });

  it('defaults regions to one per five stores', () => {
    const run = generateEvents({ ...BASE, from: '2026-03-02', to: '2026-03-02', stores: 11 });
    expect(run.org.regions.map((r) => r.id)).toEqual(['R01', 'R02', 'R03']);
  });
});

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

function correlation(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    const y = ys[i] ?? 0;
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

describe('generateEvents: costly malformed kinds', () => {
  it('caps oversized messages per run and fills the count with the other kinds', () => {
    const run = generateEvents({ from: '2026-03-02', to: '2026-03-08', stores: 4, seed: 2, malformed: 0.5 });
    const oversized = MALFORMED_CATALOG.find((k) => k.kind === 'oversized');
    expect(run.ledger.byMalformedKind['oversized']).toBe(oversized?.maxPerRun);
    expect(run.ledger.malformed).toBe(Math.round(0.5 * run.ledger.valid));
    expect(run.ledger.byMalformedKind['invalid_json']).toBeGreaterThan(oversized?.maxPerRun ?? 0);
  });
});
