import { Transform, type TransformCallback } from 'node:stream';
import { compressFrameSync, compressSync } from 'lz4-napi';

/*
 * ClickHouse's own compressed block format, which its HTTP interface sends for `compress=1`
 * (JDBC asks for it by default): each block is a 16-byte CityHash128 checksum, a method
 * byte (0x82, LZ4), the block's size with its 9-byte header and its size uncompressed (both
 * UInt32, little-endian), then the LZ4 block. The checksum covers the header and the data,
 * and uses CityHash v1.0.2, the version ClickHouse froze for its wire format (later
 * versions hash differently).
 */

const MASK = (1n << 64n) - 1n;
const K0 = 0xc3a5c85c97cb3127n;
const K1 = 0xb492b66fbe98f273n;
const K2 = 0x9ae16a3b2f90404fn;
const K3 = 0xc949d7c7509e6557n;
const K_MUL = 0x9ddfea08eb382d69n;

type U128 = [low: bigint, high: bigint];

const u64 = (v: bigint): bigint => v & MASK;
const mul = (a: bigint, b: bigint): bigint => (a * b) & MASK;
const add = (...vs: bigint[]): bigint => vs.reduce((s, v) => s + v, 0n) & MASK;
const rotate = (v: bigint, shift: bigint): bigint => (shift === 0n ? v : ((v >> shift) | (v << (64n - shift))) & MASK);
const shiftMix = (v: bigint): bigint => v ^ (v >> 47n);

function hash128to64(low: bigint, high: bigint): bigint {
  let a = mul(low ^ high, K_MUL);
  a ^= a >> 47n;
  let b = mul(high ^ a, K_MUL);
  b ^= b >> 47n;
  return mul(b, K_MUL);
}

const hashLen16 = (u: bigint, v: bigint): bigint => hash128to64(u, v);

function hashLen0to16(data: Buffer, at: number, len: number): bigint {
  const n = BigInt(len);
  if (len > 8) {
    const a = data.readBigUInt64LE(at);
    const b = data.readBigUInt64LE(at + len - 8);
    return hashLen16(a, rotate(add(b, n), n)) ^ b;
  }
  if (len >= 4) {
    const a = BigInt(data.readUInt32LE(at));
    return hashLen16(add(n, a << 3n), BigInt(data.readUInt32LE(at + len - 4)));
  }
  if (len > 0) {
    const a = BigInt(data[at] ?? 0);
    const b = BigInt(data[at + (len >> 1)] ?? 0);
    const c = BigInt(data[at + len - 1] ?? 0);
    const y = (a + (b << 8n)) & 0xffffffffn;
    const z = (n + (c << 2n)) & 0xffffffffn;
    return mul(shiftMix(mul(y, K2) ^ mul(z, K3)), K2);
  }
  return K2;
}

function weakHashLen32WithSeeds(data: Buffer, at: number, seedA: bigint, seedB: bigint): U128 {
  const w = data.readBigUInt64LE(at);
  const x = data.readBigUInt64LE(at + 8);
  const y = data.readBigUInt64LE(at + 16);
  const z = data.readBigUInt64LE(at + 24);
  let a = add(seedA, w);
  let b = rotate(add(seedB, a, z), 21n);
  const c = a;
  a = add(a, x, y);
  b = add(b, rotate(a, 44n));
  return [add(a, z), add(b, c)];
}

function cityMurmur(data: Buffer, at: number, len: number, seed: U128): U128 {
  let [a, b] = seed;
  let c: bigint;
  let d: bigint;
  let l = len - 16;
  if (l <= 0) {
    a = mul(shiftMix(mul(a, K1)), K1);
    c = add(mul(b, K1), hashLen0to16(data, at, len));
    d = shiftMix(add(a, len >= 8 ? data.readBigUInt64LE(at) : c));
  } else {
    c = hashLen16(add(data.readBigUInt64LE(at + len - 8), K1), a);
    d = hashLen16(add(b, BigInt(len)), add(c, data.readBigUInt64LE(at + len - 16)));
    a = add(a, d);
    let p = at;
    do {
      a ^= mul(shiftMix(mul(data.readBigUInt64LE(p), K1)), K1);
      a = mul(a, K1);
      b ^= a;
      c ^= mul(shiftMix(mul(data.readBigUInt64LE(p + 8), K1)), K1);
      c = mul(c, K1);
      d ^= c;
      p += 16;
      l -= 16;
    } while (l > 0);
  }
  a = hashLen16(a, c);
  b = hashLen16(d, b);
  return [a ^ b, hashLen16(b, a)];
}

function cityHash128WithSeed(data: Buffer, start: number, length: number, seed: U128): U128 {
  if (length < 128) return cityMurmur(data, start, length, seed);
  let [x, y] = seed;
  let z = mul(BigInt(length), K1);
  let at = start;
  let len = length;
  const v: U128 = [0n, 0n];
  const w: U128 = [0n, 0n];
  v[0] = add(mul(rotate(y ^ K1, 49n), K1), data.readBigUInt64LE(at));
  v[1] = add(mul(rotate(v[0], 42n), K1), data.readBigUInt64LE(at + 8));
  w[0] = add(mul(rotate(add(y, z), 35n), K1), x);
  w[1] = mul(rotate(add(x, data.readBigUInt64LE(at + 88)), 53n), K1);
  const round = (): void => {
    x = mul(rotate(add(x, y, v[0], data.readBigUInt64LE(at + 16)), 37n), K1);
    y = mul(rotate(add(y, v[1], data.readBigUInt64LE(at + 48)), 42n), K1);
    x ^= w[1];
    y ^= v[0];
    z = rotate(z ^ w[0], 33n);
    [v[0], v[1]] = weakHashLen32WithSeeds(data, at, mul(v[1], K1), add(x, w[0]));
    [w[0], w[1]] = weakHashLen32WithSeeds(data, at + 32, add(z, w[1]), y);
    [z, x] = [x, z];
    at += 64;
  };
  do {
    round();
    round();
    len -= 128;
  } while (len >= 128);
  y = add(y, mul(rotate(w[0], 37n), K0), z);
  x = add(x, mul(rotate(add(v[0], z), 49n), K0));
  // Up to four 32-byte chunks from the end of the data.
  for (let done = 0; done < len; ) {
    done += 32;
    y = add(mul(rotate(u64(y - x), 42n), K0), v[1]);
    w[0] = add(w[0], data.readBigUInt64LE(at + len - done + 16));
    x = add(mul(rotate(x, 49n), K0), w[0]);
    w[0] = add(w[0], v[0]);
    [v[0], v[1]] = weakHashLen32WithSeeds(data, at + len - done, v[0], v[1]);
  }
  x = hashLen16(x, v[0]);
  y = hashLen16(y, w[0]);
  return [add(hashLen16(add(x, v[1]), w[1]), y), hashLen16(add(x, w[1]), add(y, v[1]))];
}

/** CityHash128 v1.0.2 of `data`, as [low 64 bits, high 64 bits]. */
export function cityHash128(data: Buffer): U128 {
  const len = data.length;
  if (len >= 16) return cityHash128WithSeed(data, 16, len - 16, [data.readBigUInt64LE(0) ^ K3, data.readBigUInt64LE(8)]);
  if (len >= 8) return cityHash128WithSeed(data, 0, 0, [data.readBigUInt64LE(0) ^ mul(BigInt(len), K0), data.readBigUInt64LE(len - 8) ^ K1]);
  return cityHash128WithSeed(data, 0, len, [K0, K1]);
}

const LZ4_METHOD = 0x82;
const HEADER_BYTES = 9;
/** Data per block: ClickHouse's own default (max_compress_block_size is 1 MiB). */
const BLOCK_BYTES = 1024 * 1024;

/** One block of ClickHouse's compressed format holding `data`. */
export function compressedBlock(data: Buffer): Buffer {
  // lz4-napi puts the uncompressed size (UInt32 LE) before the LZ4 block.
  const lz4 = compressSync(data).subarray(4);
  const block = Buffer.allocUnsafe(16 + HEADER_BYTES + lz4.length);
  block.writeUInt8(LZ4_METHOD, 16);
  block.writeUInt32LE(HEADER_BYTES + lz4.length, 17);
  block.writeUInt32LE(data.length, 21);
  lz4.copy(block, 16 + HEADER_BYTES);
  const [low, high] = cityHash128(block.subarray(16));
  block.writeBigUInt64LE(low, 0);
  block.writeBigUInt64LE(high, 8);
  return block;
}

/** A stream of output turned into ClickHouse's compressed blocks of up to 1 MiB each. */
export function nativeCompression(): Transform {
  let pending: Buffer[] = [];
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      pending.push(chunk);
      size += chunk.length;
      while (size >= BLOCK_BYTES) {
        const all = Buffer.concat(pending);
        this.push(compressedBlock(all.subarray(0, BLOCK_BYTES)));
        pending = [all.subarray(BLOCK_BYTES)];
        size = all.length - BLOCK_BYTES;
      }
      done();
    },
    flush(done: TransformCallback) {
      if (size > 0) this.push(compressedBlock(Buffer.concat(pending)));
      done();
    },
  });
}

/** `Content-Encoding: lz4` as ClickHouse sends it: one LZ4 frame (the result is whole in memory already). */
export function lz4FrameCompression(): Transform {
  const chunks: Buffer[] = [];
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      chunks.push(chunk);
      done();
    },
    flush(done: TransformCallback) {
      this.push(compressFrameSync(Buffer.concat(chunks)));
      done();
    },
  });
}
