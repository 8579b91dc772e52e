import { uncompressSync } from 'lz4-napi';
import { cityHash128, compressedBlock } from '../../../services/api/native-compression.js';

/** Bytes (i·31 + 7) mod 256: the same input the expected hashes were computed from. */
const pattern = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255));

/** The checksum bytes ClickHouse writes for each input, from clickhouse-cityhash 1.0.2.6 (PyPI), the binding of ClickHouse's own CityHash v1.0.2. */
const EXPECTED: [number, string][] = [
  [0, '2b9ac064fc9df03d291ee592c340b53c'],
  [1, '400ece9c375be58bba1c8b474447ab05'],
  [3, '94f2b07bdade07e4bdf1276e140d3a0a'],
  [4, '4f12ae6320cb5d90c593a554595bfd57'],
  [8, 'a036812047caa4f5abe5463d5b57d43d'],
  [9, 'e165254ac53484337137d37bb0bb0110'],
  [16, '487f4b5675323a3f0bc6ba167a2a8ab4'],
  [17, 'a2e0b28bf64be3ae870bf0550591d6e0'],
  [33, '20b5f37a055b494eb51084f1241daeab'],
  [64, '02dc73b333cf25e2966d2d15e52c258d'],
  [127, '418cce068adc44c2a62936b3f62c0ef3'],
  [128, '4623f3700c3c86ba0a173c6ffc56b124'],
  [129, 'f1e28e4c069885230b41f73e26b9896c'],
  [200, '4bf285f8a4c9b567872408584af5a0b4'],
  [1000, '7ead727995f47f59e110c0d7aba4397f'],
  [5000, '97045d1a406f11c82e34bd1cdf40502f'],
];

const wire = ([low, high]: [bigint, bigint]): string => {
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(low, 0);
  out.writeBigUInt64LE(high, 8);
  return out.toString('hex');
};

describe('ClickHouse compressed blocks', () => {
  it.each(EXPECTED)('hashes %i bytes as CityHash v1.0.2 does', (n, checksum) => {
    expect(wire(cityHash128(pattern(n)))).toBe(checksum);
  });

  it('frames an LZ4 block with its checksum, method byte and sizes', () => {
    const data = Buffer.from('2026-Q3\tnet_sales\t1234.56\n'.repeat(500), 'utf8');
    const block = compressedBlock(data);
    expect(block[16]).toBe(0x82);
    const size = block.readUInt32LE(17);
    expect(size).toBe(block.length - 16);
    expect(block.readUInt32LE(21)).toBe(data.length);
    expect(size).toBeLessThan(data.length / 10);
    expect(wire(cityHash128(block.subarray(16)))).toBe(block.subarray(0, 16).toString('hex'));
    const prefixed = Buffer.concat([Buffer.from(Uint32Array.of(data.length).buffer), block.subarray(25)]);
    expect(uncompressSync(prefixed).equals(data)).toBe(true);
  });
});
