import { toUtc, utcText } from '../../../services/ingest/rows.js';

describe('utcText', () => {
  it('formats instants as ClickHouse DateTime64(3) text in UTC, as Date does', () => {
    const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
    const instants = [0, 1, 999, 951_782_400_000 /* 2000-02-29 */, 4_107_542_399_999, 253_402_300_799_999 /* 9999-12-31 23:59:59.999 */, -62_167_219_200_000 /* 0000-01-01 */];
    for (let i = 0; i < 20_000; i += 1) instants.push(Math.floor(((i * 7_919_993_311) % 253_402_300_799_999) + (i % 1_000)));
    for (const ms of instants) expect([ms, utcText(ms)]).toEqual([ms, iso(ms)]);
  });

  it('turns any offset into UTC', () => {
    expect(toUtc('2026-07-15T09:30:00+08:00')).toBe('2026-07-15 01:30:00.000');
    expect(toUtc('2026-03-08T01:59:59.5-05:00')).toBe('2026-03-08 06:59:59.500');
    expect(toUtc('2026-12-31T23:00:00-02:00')).toBe('2027-01-01 01:00:00.000');
  });
});
