import {
  CalendarConfig,
  GRAINS,
  type Grain,
  InvalidPeriodError,
  type Period,
  PeriodRef,
  nextPeriod,
  parsePeriod,
  periodOf,
  periodsBetween,
  previousPeriod,
  samePeriodLastYear,
} from '../../../schemas/calendar/index.js';

const HOUR = 3_600_000;

const cfg = (timeZone: string, fiscalYearStartMonth = 1): CalendarConfig => ({ timeZone, fiscalYearStartMonth });
const ms = (iso: string): number => Date.parse(iso);
const lengthHours = (p: Period): number => (ms(p.end) - ms(p.start)) / HOUR;

describe('parsePeriod: known values', () => {
  it('puts a Shanghai day at local midnight (UTC+8)', () => {
    expect(parsePeriod('day', '2026-07-15', cfg('Asia/Shanghai'))).toEqual({
      grain: 'day',
      id: '2026-07-15',
      start: '2026-07-14T16:00:00.000Z',
      end: '2026-07-15T16:00:00.000Z',
    });
  });

  it('starts ISO week 1 of 2026 on Monday 2025-12-29', () => {
    const p = parsePeriod('week', '2026-W01', cfg('UTC'));
    expect([p.start, p.end]).toEqual(['2025-12-29T00:00:00.000Z', '2026-01-05T00:00:00.000Z']);
  });

  it('knows 2020 and 2026 have 53 ISO weeks and 2025 has 52', () => {
    expect(parsePeriod('week', '2020-W53', cfg('UTC')).start).toBe('2020-12-28T00:00:00.000Z');
    expect(parsePeriod('week', '2026-W53', cfg('UTC')).end).toBe('2027-01-04T00:00:00.000Z');
    expect(() => parsePeriod('week', '2025-W53', cfg('UTC'))).toThrow(InvalidPeriodError);
  });

  it('makes calendar quarters and years with fiscal start month 1', () => {
    const q = parsePeriod('quarter', '2026-Q3', cfg('UTC'));
    expect([q.start, q.end]).toEqual(['2026-07-01T00:00:00.000Z', '2026-10-01T00:00:00.000Z']);
    const y = parsePeriod('year', '2026', cfg('Asia/Shanghai'));
    expect([y.start, y.end]).toEqual(['2025-12-31T16:00:00.000Z', '2026-12-31T16:00:00.000Z']);
    expect(parsePeriod('month', '2026-02', cfg('UTC')).end).toBe('2026-03-01T00:00:00.000Z');
  });

  it('names a fiscal year by the calendar year it ends in', () => {
    const fiscal = cfg('Asia/Shanghai', 4);
    const q1 = parsePeriod('quarter', '2027-Q1', fiscal);
    expect([q1.start, q1.end]).toEqual(['2026-03-31T16:00:00.000Z', '2026-06-30T16:00:00.000Z']);
    const q4 = parsePeriod('quarter', '2027-Q4', fiscal);
    expect([q4.start, q4.end]).toEqual(['2026-12-31T16:00:00.000Z', '2027-03-31T16:00:00.000Z']);
    const fy = parsePeriod('year', '2027', fiscal);
    expect([fy.start, fy.end]).toEqual([q1.start, q4.end]);
    expect(periodOf('year', ms('2026-04-01T00:00:00+08:00'), fiscal).id).toBe('2027');
    expect(periodOf('year', ms('2026-03-31T23:59:59+08:00'), fiscal).id).toBe('2026');
    // Months and weeks are never fiscal.
    expect(parsePeriod('month', '2026-04', fiscal).start).toBe('2026-03-31T16:00:00.000Z');
  });
});

describe('DST', () => {
  it.each([
    ['Europe/Berlin', '2026-03-29', 23],
    ['Europe/Berlin', '2026-10-25', 25],
    ['Europe/Berlin', '2026-10-26', 24],
    ['America/New_York', '2026-03-08', 23],
    ['America/New_York', '2026-11-01', 25],
    ['Australia/Lord_Howe', '2026-10-04', 23.5],
    ['Australia/Lord_Howe', '2026-04-05', 24.5],
  ])('%s %s is %d hours long', (timeZone, id, hours) => {
    expect(lengthHours(parsePeriod('day', id, cfg(timeZone)))).toBe(hours);
  });

  it('starts Berlin days at local midnight either side of a change', () => {
    expect(parsePeriod('day', '2026-03-29', cfg('Europe/Berlin')).start).toBe('2026-03-28T23:00:00.000Z');
    expect(parsePeriod('day', '2026-03-30', cfg('Europe/Berlin')).start).toBe('2026-03-29T22:00:00.000Z');
    expect(parsePeriod('day', '2026-11-02', cfg('America/New_York')).start).toBe('2026-11-02T05:00:00.000Z');
  });

  it('starts a day whose midnight is skipped at the moment clocks jump', () => {
    // Havana moves 00:00 -05:00 straight to 01:00 -04:00.
    const p = parsePeriod('day', '2026-03-08', cfg('America/Havana'));
    expect([p.start, lengthHours(p)]).toEqual(['2026-03-08T05:00:00.000Z', 23]);
    expect(previousPeriod(p, cfg('America/Havana')).end).toBe(p.start);
  });

  it('gives a week holding a change 167 hours', () => {
    expect(lengthHours(parsePeriod('week', '2026-W13', cfg('Europe/Berlin')))).toBe(167);
  });
});

describe('navigation', () => {
  const utc = cfg('UTC');

  it.each([
    ['day', '2026-01-01', '2025-12-31', '2026-01-02'],
    ['week', '2026-W01', '2025-W52', '2026-W02'],
    ['week', '2026-W53', '2026-W52', '2027-W01'],
    ['month', '2026-01', '2025-12', '2026-02'],
    ['quarter', '2026-Q1', '2025-Q4', '2026-Q2'],
    ['year', '2026', '2025', '2027'],
  ] as const)('%s %s: previous %s, next %s', (grain, id, prev, next) => {
    const p = parsePeriod(grain, id, utc);
    expect(previousPeriod(p, utc).id).toBe(prev);
    expect(nextPeriod(p, utc).id).toBe(next);
  });

  it.each([
    ['day', '2024-02-29', '2023-02-28'],
    ['day', '2026-07-15', '2025-07-15'],
    ['week', '2021-W01', '2020-W01'],
    ['week', '2021-W52', '2020-W52'],
    ['week', '2027-W01', '2026-W01'],
    ['month', '2026-07', '2025-07'],
    ['quarter', '2026-Q3', '2025-Q3'],
    ['year', '2026', '2025'],
  ] as const)('same period last year of %s %s is %s', (grain, id, expected) => {
    expect(samePeriodLastYear({ grain, id }, utc).id).toBe(expected);
  });

  it('clamps week 53 to the previous ISO year’s last week', () => {
    expect(samePeriodLastYear({ grain: 'week', id: '2026-W53' }, utc).id).toBe('2025-W52');
  });

  it('lists every period overlapping [from, to)', () => {
    const ids = (g: Grain, from: string, to: string): string[] => periodsBetween(g, ms(from), ms(to), utc).map((p) => p.id);
    expect(ids('month', '2026-01-15T00:00:00Z', '2026-04-01T00:00:00Z')).toEqual(['2026-01', '2026-02', '2026-03']);
    expect(ids('month', '2026-01-15T00:00:00Z', '2026-04-01T00:00:00.001Z')).toEqual(['2026-01', '2026-02', '2026-03', '2026-04']);
    expect(ids('day', '2026-07-15T10:00:00Z', '2026-07-15T11:00:00Z')).toEqual(['2026-07-15']);
    expect(ids('quarter', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')).toEqual([]);
    expect(ids('week', '2025-12-31T00:00:00Z', '2026-01-06T00:00:00Z')).toEqual(['2026-W01', '2026-W02']);
  });
});

describe('invalid ids', () => {
  const utc = cfg('UTC');

  it.each([
    ['day', '2026-02-30', 'has 28 days'],
    ['day', '2024-02-30', 'has 29 days'],
    ['day', '2026-13-01', 'month 13'],
    ['day', '2026-7-15', 'expected the form 2026-07-15'],
    ['day', '2026-07-15T00:00', 'expected the form'],
    ['week', '2026-W54', 'weeks 01-53'],
    ['week', '2025-W53', 'weeks 01-52'],
    ['week', '2026-W00', 'weeks 01-53'],
    ['week', '2026W29', 'expected the form 2026-W29'],
    ['month', '2026-13', 'month 13'],
    ['month', '2026-00', 'month 0'],
    ['quarter', '2026-Q5', 'quarter must be 1-4'],
    ['quarter', '2026-Q0', 'quarter must be 1-4'],
    ['quarter', '2026-3', 'expected the form 2026-Q3'],
    ['year', '26', 'expected the form 2026'],
    ['year', '0999', 'year must be'],
  ] as const)('%s %j is rejected (%s)', (grain, id, reason) => {
    let caught: unknown;
    try {
      parsePeriod(grain, id, utc);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidPeriodError);
    const err = caught as InvalidPeriodError;
    expect(err.name).toBe('InvalidPeriodError');
    expect(err.message).toContain(`"${id}"`);
    expect(err.message).toContain(reason);
  });

  it('rejects an invalid id passed to navigation', () => {
    expect(() => nextPeriod({ grain: 'month', id: '2026-13' }, utc)).toThrow(InvalidPeriodError);
    expect(() => samePeriodLastYear({ grain: 'day', id: '2026-02-30' }, utc)).toThrow(InvalidPeriodError);
  });
});

describe('schemas', () => {
  it('validates a period reference', () => {
    expect(PeriodRef.parse({ grain: 'quarter', period: '2026-Q3' })).toEqual({ grain: 'quarter', period: '2026-Q3' });
    expect(PeriodRef.safeParse({ grain: 'fortnight', period: '2026-F1' }).success).toBe(false);
  });

  it('validates a calendar config', () => {
    expect(CalendarConfig.safeParse(cfg('Europe/Berlin', 4)).success).toBe(true);
    expect(CalendarConfig.safeParse(cfg('Mars/Olympus_Mons')).success).toBe(false);
    expect(CalendarConfig.safeParse(cfg('UTC', 13)).success).toBe(false);
    expect(CalendarConfig.safeParse(cfg('UTC', 0)).success).toBe(false);
  });
});

describe('properties over pseudo-random instants', () => {
  /** mulberry32: small, fixed-seed, so every run checks the same instants. */
  function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
  }

  const FROM = ms('2019-01-01T00:00:00Z');
  const TO = ms('2031-12-31T00:00:00Z');
  const CONFIGS = [cfg('UTC'), cfg('Asia/Shanghai', 4), cfg('Europe/Berlin'), cfg('America/New_York', 7), cfg('Australia/Lord_Howe', 10)];

  it.each(CONFIGS.map((c) => [`${c.timeZone} (fiscal start ${c.fiscalYearStartMonth})`, c] as const))(
    'every instant lies in exactly one period of each grain: %s',
    (_label, config) => {
      const random = rng(0x5eed ^ config.fiscalYearStartMonth);
      // Collected rather than asserted one by one: thousands of checks, one readable report.
      const problems: string[] = [];
      const check = (ok: boolean, what: string): void => {
        if (!ok && problems.length < 20) problems.push(what);
      };
      for (let i = 0; i < 600; i++) {
        // Bias some samples onto exact period boundaries, where off-by-one bugs live.
        let t = FROM + Math.floor(random() * (TO - FROM));
        if (i % 5 === 0) t = ms(periodOf('day', t, config).start);
        for (const grain of GRAINS) {
          const p = periodOf(grain, t, config);
          const at = `${grain} ${p.id} for ${new Date(t).toISOString()}`;
          check(ms(p.start) <= t && t < ms(p.end), `${at}: instant outside [${p.start}, ${p.end})`);
          check(JSON.stringify(parsePeriod(grain, p.id, config)) === JSON.stringify(p), `${at}: parsePeriod does not round-trip`);
          check(previousPeriod(p, config).end === p.start, `${at}: previous period does not end at its start`);
          check(nextPeriod(p, config).start === p.end, `${at}: next period does not start at its end`);
          check(periodOf(grain, ms(p.start), config).id === p.id, `${at}: start is not inside`);
          check(periodOf(grain, ms(p.end) - 1, config).id === p.id, `${at}: last millisecond is not inside`);
          check(periodOf(grain, ms(p.end), config).id !== p.id, `${at}: end is inside`);
        }
      }
      expect(problems).toEqual([]);
    },
  );

  it.each(CONFIGS.map((c) => [`${c.timeZone} (fiscal start ${c.fiscalYearStartMonth})`, c] as const))(
    'consecutive days tile each week, month, quarter and year exactly: %s',
    (_label, config) => {
      const random = rng(0xd1ce ^ config.fiscalYearStartMonth);
      for (let i = 0; i < 12; i++) {
        const t = FROM + Math.floor(random() * (TO - FROM));
        for (const grain of ['week', 'month', 'quarter', 'year'] as const) {
          const p = periodOf(grain, t, config);
          const days = periodsBetween('day', ms(p.start), ms(p.end), config);
          expect(days[0]?.start).toBe(p.start);
          expect(days[days.length - 1]?.end).toBe(p.end);
          const gaps = days.slice(1).filter((day, d) => day.start !== days[d]?.end);
          expect(gaps).toEqual([]);
          // Each day of the period belongs to it and to nothing else of its grain.
          const strays = days.filter((day) => periodOf(grain, ms(day.start), config).id !== p.id);
          expect(strays).toEqual([]);
          const expected = { week: [7], month: [28, 29, 30, 31], quarter: [89, 90, 91, 92], year: [365, 366] }[grain];
          expect(expected).toContain(days.length);
        }
      }
    },
  );

  it('every local day is 23-25 hours long and tiles the whole 2019-2031 span', () => {
    for (const config of CONFIGS) {
      const days = periodsBetween('day', FROM, TO, config);
      for (let d = 1; d < days.length; d++) {
        const day = days[d] as Period;
        expect(day.start).toBe(days[d - 1]?.end);
        const hours = lengthHours(day);
        if (hours < 23 || hours > 25) throw new Error(`${config.timeZone} ${day.id} is ${hours} h long`);
      }
    }
  });
});
