import { CHANNELS } from '../../../schemas/events/common.js';
import { buildOrg } from '../../../services/simulator/org.js';

describe('buildOrg', () => {
  const org = buildOrg({ regions: 4, stores: 20, seed: 1 });

  it('names regions, stores, departments and channels', () => {
    expect(org.regions.map((r) => r.id)).toEqual(['R01', 'R02', 'R03', 'R04']);
    expect(org.stores.map((s) => s.id).slice(0, 3)).toEqual(['S001', 'S002', 'S003']);
    expect(org.stores.at(-1)?.id).toBe('S020');
    expect(org.departments).toEqual(['sales', 'fulfilment', 'service']);
    expect(org.channels).toEqual(CHANNELS);
  });

  it('puts stores in every region, evenly', () => {
    const perRegion = new Map<string, number>();
    for (const s of org.stores) perRegion.set(s.region, (perRegion.get(s.region) ?? 0) + 1);
    expect([...perRegion.values()]).toEqual([5, 5, 5, 5]);
  });

  it('draws traits within their ranges, different per store', () => {
    for (const { traits } of org.stores) {
      expect(traits.onTimeProbability).toBeGreaterThanOrEqual(0.8);
      expect(traits.onTimeProbability).toBeLessThanOrEqual(0.98);
      expect(traits.returnProbability).toBeGreaterThanOrEqual(0.02);
      expect(traits.returnProbability).toBeLessThanOrEqual(0.1);
      expect(traits.csatMean).toBeGreaterThanOrEqual(3.3);
      expect(traits.csatMean).toBeLessThanOrEqual(4.7);
      expect(traits.firstResponseMeanHours).toBeGreaterThanOrEqual(0.5);
      expect(traits.firstResponseMeanHours).toBeLessThanOrEqual(8);
      expect(traits.volumeScale).toBeGreaterThan(0.4);
      expect(traits.volumeScale).toBeLessThan(2);
    }
    for (const key of ['volumeScale', 'onTimeProbability', 'returnProbability', 'complaintProbability', 'csatMean', 'firstResponseMeanHours'] as const) {
      expect(new Set(org.stores.map((s) => s.traits[key])).size).toBe(org.stores.length);
    }
  });

  it('is deterministic for a seed and differs between seeds', () => {
    expect(buildOrg({ regions: 4, stores: 20, seed: 1 })).toEqual(org);
    expect(buildOrg({ regions: 4, stores: 20, seed: 2 }).stores[0]?.traits).not.toEqual(org.stores[0]?.traits);
  });

  it('keeps a store the same store whatever the store count, with the same regions', () => {
    const bigger = buildOrg({ regions: 4, stores: 40, seed: 1 });
    expect(bigger.stores.slice(0, 20)).toEqual(org.stores);
  });

  it.each([
    [{ regions: 0, stores: 5 }],
    [{ regions: 6, stores: 5 }],
    [{ regions: 1, stores: 0 }],
    [{ regions: 1, stores: 2.5 }],
  ])('rejects %j', (options) => {
    expect(() => buildOrg({ ...options, seed: 1 })).toThrow(RangeError);
  });
});
