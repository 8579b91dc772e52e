import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../../services/shared/errors.js';
import { loadScorecards } from '../../../services/shared/scorecards.js';
import { DEFAULT_SCORECARDS } from '../../../schemas/scorecards/defaults.js';
import { bandOf, lineFraction, parseScorecardConfig, scoreScorecard, type ScorecardLine, type UnitValue } from '../../../schemas/scorecards/index.js';

const config = parseScorecardConfig(DEFAULT_SCORECARDS);
const line = (l: Partial<ScorecardLine> & Pick<ScorecardLine, 'kpi' | 'target'>): ScorecardLine => ({ weight: 10, rule: 'achievement', cap: 1, ...l });

describe('scorecard configuration', () => {
  it("has the source document's cards with weights summing to 100", () => {
    const ids = config.scorecards.map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining(['operations_department', 'store_manager', 'sales_department_manager', 'regional_manager', 'customer_service', 'fulfilment']));
    for (const card of config.scorecards) expect(card.lines.reduce((s, l) => s + l.weight, 0)).toBe(100);
    const store = config.scorecards.find((s) => s.id === 'store_manager');
    expect(store?.lines.map((l) => [l.kpi, l.weight])).toEqual([['sales_attainment', 70], ['staff_turnover_rate', 10], ['account_accuracy', 5], ['product_knowledge', 5], ['member_churn_rate', 10]]);
  });

  it('names every problem of a bad file: weights, unknown KPIs, rules without floors, duplicates', () => {
    const bad = {
      bands: [{ name: 'A', min: 90 }],
      scorecards: [
        { id: 'x', zh: '甲', en: 'X', level: 'store', lines: [{ kpi: 'net_sales', weight: 60, target: 1 }, { kpi: 'net_sales', weight: 30, target: 1 }] },
        { id: 'x', zh: '乙', en: 'Y', level: 'planet', lines: [{ kpi: 'happiness', weight: 100, target: 1 }] },
        { id: 'z', zh: '丙', en: 'Z', level: 'store', lines: [{ kpi: 'csat', weight: 100, target: 4, rule: 'linear' }] },
      ],
    };
    let message = '';
    try {
      parseScorecardConfig(bad);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/scorecards\.0\.lines: weights sum to 90, not 100/);
    expect(message).toMatch(/net_sales appears twice/);
    expect(message).toMatch(/scorecards\.1\.level/);
    expect(message).toMatch(/scorecards\.1\.lines\.0\.kpi/);
    expect(message).toMatch(/csat: a linear rule needs a floor/);
  });

  it('refuses two scorecards with one id', () => {
    const card = { id: 'x', zh: '甲', en: 'X', level: 'store', lines: [{ kpi: 'csat', weight: 100, target: 4.5 }] };
    expect(() => parseScorecardConfig({ bands: [{ name: 'A', min: 0 }], scorecards: [card, card] })).toThrow(/scorecard id x appears twice/);
  });
});

describe('scoring a line', () => {
  it('achievement: value ÷ target when higher is better, capped', () => {
    expect(lineFraction(line({ kpi: 'sales_attainment', target: 1 }), 0.8)).toBeCloseTo(0.8, 12);
    expect(lineFraction(line({ kpi: 'sales_attainment', target: 1 }), 1.3)).toBe(1);
    expect(lineFraction(line({ kpi: 'sales_attainment', target: 1, cap: 1.2 }), 1.3)).toBe(1.2);
  });

  it('achievement inverted when lower is better: target ÷ value, and the cap for 0', () => {
    expect(lineFraction(line({ kpi: 'operating_cost_ratio', target: 1 }), 1.25)).toBeCloseTo(0.8, 12);
    expect(lineFraction(line({ kpi: 'operating_cost_ratio', target: 1 }), 0)).toBe(1);
  });

  it('linear between floor and target, in either direction, clamped', () => {
    const csat = line({ kpi: 'csat', target: 4.5, rule: 'linear', floor: 3 });
    expect(lineFraction(csat, 3.75)).toBeCloseTo(0.5, 12);
    expect(lineFraction(csat, 2)).toBe(0);
    expect(lineFraction(csat, 5)).toBe(1);
    const time = line({ kpi: 'first_response_time', target: 2, rule: 'linear', floor: 12 });
    expect(lineFraction(time, 7)).toBeCloseTo(0.5, 12);
    expect(lineFraction(time, 20)).toBe(0);
    expect(lineFraction(time, 1)).toBe(1);
  });

  it('bands by the highest minimum reached', () => {
    expect(bandOf(95, config.bands)).toBe('A');
    expect(bandOf(75, config.bands)).toBe('B');
    expect(bandOf(10, config.bands)).toBe('D');
    expect(bandOf(null, config.bands)).toBe('unscored');
  });
});

describe('scoreScorecard', () => {
  const card = parseScorecardConfig({
    bands: [{ name: 'A', min: 90 }, { name: 'B', min: 0 }],
    scorecards: [{ id: 'c', zh: '卡', en: 'Card', level: 'store', lines: [{ kpi: 'sales_attainment', weight: 60, target: 1 }, { kpi: 'csat', weight: 40, target: 5, rule: 'linear', floor: 3 }] }],
  }).scorecards[0];
  const v = (unit: string, parent: string, kpi: string, value: number | null): UnitValue => ({ level: 'store', unit, parent, kpi, value });
  const values = [
    v('S1', 'R1', 'sales_attainment', 1), v('S1', 'R1', 'csat', 5),
    v('S2', 'R1', 'sales_attainment', 0.5), v('S2', 'R1', 'csat', 4),
    v('S3', 'R1', 'sales_attainment', 0.5), v('S3', 'R1', 'csat', 4),
    v('S4', 'R1', 'sales_attainment', null), v('S4', 'R1', 'csat', 4),
    v('S5', 'R2', 'sales_attainment', 0.9), v('S5', 'R2', 'csat', 3),
    v('R1', 'all', 'sales_attainment', 1),
    // an imported value first: it does not know the parent
    v('S6', '', 'csat', 5), v('S6', 'R2', 'sales_attainment', 1),
  ].map((x) => (x.unit.startsWith('R') ? { ...x, level: 'region' as const } : x));

  it('weights, sums and ranks within the peer group, ties sharing a rank', () => {
    if (!card) throw new Error('no card');
    const scored = scoreScorecard(card, [{ name: 'A', min: 90 }, { name: 'B', min: 0 }], values);
    const by = new Map(scored.map((s) => [s.unit, s]));
    expect(by.get('S1')).toMatchObject({ score: 100, rank: 1, peers: 3, band: 'A', peerGroup: 'R1' });
    expect(by.get('S2')?.score).toBeCloseTo(30 + 20, 12);
    expect(by.get('S2')?.rank).toBe(2);
    expect(by.get('S3')?.rank).toBe(2);
    expect(by.get('S6')).toMatchObject({ rank: 1, peers: 2, peerGroup: 'R2' });
    expect(by.get('S5')).toMatchObject({ rank: 2, peers: 2, peerGroup: 'R2' });
    expect(by.has('R1')).toBe(false);
  });

  it('leaves a unit with a missing value unscored and unranked, naming the KPI', () => {
    if (!card) throw new Error('no card');
    const s4 = scoreScorecard(card, [{ name: 'B', min: 0 }], values).find((s) => s.unit === 'S4');
    expect(s4).toMatchObject({ score: null, rank: null, band: 'unscored', missing: ['sales_attainment'] });
    expect(s4?.lines.find((l) => l.kpi === 'sales_attainment')).toMatchObject({ missing: true, points: null });
  });

  it('with missing: reweight, scales the present lines up to 100 and still lists what is missing', () => {
    if (!card) throw new Error('no card');
    const s4 = scoreScorecard({ ...card, missing: 'reweight' }, [{ name: 'B', min: 0 }], values).find((s) => s.unit === 'S4');
    expect(s4?.score).toBeCloseTo(50, 12);
    expect(s4?.missing).toEqual(['sales_attainment']);
    expect(s4?.rank).not.toBeNull();
  });
});

describe('loadScorecards (KPI_SCORECARDS_FILE)', () => {
  const made: string[] = [];
  const file = (content: string): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kpi-cards-'));
    made.push(dir);
    const f = path.join(dir, 'cards.json');
    writeFileSync(f, content);
    return f;
  };
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  const close = (scorecardsFile: string | undefined) => ({ idPrefix: '', graceMs: 0, concurrency: 1, provisionalIntervalMs: 10_000, restateDebounceMs: 0, lateCheckMs: 1_000, scorecardsFile });

  it('uses the built-in scorecards without a file, and a valid file instead of them', () => {
    expect(loadScorecards(close(undefined)).scorecards.map((s) => s.id)).toContain('store_manager');
    const own = { bands: [{ name: 'pass', min: 50 }], scorecards: [{ id: 'mine', zh: '我的', en: 'Mine', level: 'store', lines: [{ kpi: 'csat', weight: 100, target: 4.5 }] }] };
    expect(loadScorecards(close(file(JSON.stringify(own)))).scorecards.map((s) => s.id)).toEqual(['mine']);
  });

  it('stops with a configuration error naming the file and the problem', () => {
    expect(() => loadScorecards(close(file('{ not json')))).toThrow(ConfigError);
    expect(() => loadScorecards(close(file('{ not json')))).toThrow(/KPI_SCORECARDS_FILE .*cards\.json: cannot read it as JSON/);
    expect(() => loadScorecards(close(file(JSON.stringify({ bands: [], scorecards: [] }))))).toThrow(/bands: .*\n.*scorecards: /);
    expect(() => loadScorecards(close('/nonexistent/cards.json'))).toThrow(/cannot read it as JSON: .*ENOENT/);
  });
});
