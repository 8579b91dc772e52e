import { ZoneClock, compactDay, dayFields, formatDay, parseDay } from '../../../services/simulator/zone-clock.js';
import { Rng, weights } from '../../../services/simulator/rng.js';

describe('days', () => {
  it.each(['2026-02-30', '2025-02-29', '2026-13-01', '2026-1-01', '26-01-01', ''])('rejects %j', (text) => {
    expect(parseDay(text)).toBeUndefined();
  });

  it('round-trips and describes days', () => {
    const day = parseDay('2024-02-29') ?? 0;
    expect(formatDay(day)).toBe('2024-02-29');
    expect(compactDay(day)).toBe('20240229');
    expect(dayFields(day)).toEqual({ year: 2024, month: 2, date: 29, weekday: 4, daysInMonth: 29 });
  });
});

describe('ZoneClock', () => {
  it.each([
    ['Asia/Shanghai', '2026-07-15', '2026-07-15T09:30:00+08:00', '2026-07-15T01:30:00.000Z'],
    ['Asia/Kolkata', '2026-07-15', '2026-07-15T09:30:00+05:30', '2026-07-15T04:00:00.000Z'],
    ['UTC', '2026-07-15', '2026-07-15T09:30:00+00:00', '2026-07-15T09:30:00.000Z'],
    ['America/New_York', '2026-01-15', '2026-01-15T09:30:00-05:00', '2026-01-15T14:30:00.000Z'],
    ['America/New_York', '2026-07-15', '2026-07-15T09:30:00-04:00', '2026-07-15T13:30:00.000Z'],
  ])('in %s, 09:30 on %s is %s', (zone, date, local, utc) => {
    const clock = new ZoneClock(zone);
    const t = clock.toUtc(parseDay(date) ?? 0, 9.5 * 3_600_000);
    expect(new Date(t).toISOString()).toBe(utc);
    expect(clock.format(t)).toBe(local);
    expect(Date.parse(clock.format(t))).toBe(t);
    expect(formatDay(clock.localDay(t))).toBe(date);
  });

  it('follows the offset across a daylight-saving change within a day', () => {
    const clock = new ZoneClock('America/New_York');
    const day = parseDay('2026-03-08') ?? 0;
    expect(clock.format(clock.toUtc(day, 1 * 3_600_000))).toBe('2026-03-08T01:00:00-05:00');
    expect(clock.format(clock.toUtc(day, 12 * 3_600_000))).toBe('2026-03-08T12:00:00-04:00');
  });

  it('refuses an unknown zone', () => {
    expect(() => new ZoneClock('Mars/Base')).toThrow(RangeError);
  });
});

describe('Rng', () => {
  it('repeats a stream for the same parts and differs for others', () => {
    const draw = (...parts: (string | number)[]) => {
      const rng = new Rng(...parts);
      return Array.from({ length: 5 }, () => rng.float());
    };
    expect(draw(1, 'a')).toEqual(draw(1, 'a'));
    expect(draw(1, 'a')).not.toEqual(draw(1, 'b'));
    expect(draw(1, 'a')).not.toEqual(draw(2, 'a'));
  });

  it('samples distinct indexes, small and large', () => {
    const rng = new Rng('sample');
    for (const [n, count] of [[1_000, 10], [1_000, 900], [5, 10]] as const) {
      const picked = rng.sample(n, count);
      expect(picked).toHaveLength(Math.min(n, count));
      expect(new Set(picked).size).toBe(picked.length);
      expect(picked.every((i) => i >= 0 && i < n)).toBe(true);
    }
  });

  it('draws weighted items in proportion', () => {
    const rng = new Rng('weights');
    const table = weights([['a', 1], ['b', 3]] as const);
    let b = 0;
    for (let i = 0; i < 20_000; i += 1) if (rng.weighted(table) === 'b') b += 1;
    expect(b / 20_000).toBeCloseTo(0.75, 1);
  });

  it('draws Poisson counts with the right mean, small and large', () => {
    const rng = new Rng('poisson');
    for (const mean of [3, 120]) {
      let sum = 0;
      for (let i = 0; i < 5_000; i += 1) sum += rng.poisson(mean);
      expect(sum / 5_000 / mean).toBeCloseTo(1, 1);
    }
  });
});
