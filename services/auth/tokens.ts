import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Token secrets: `kpi_<id>_<secret>`. The id (12 base32 characters) is public and finds the
 * stored row; the secret (32 random bytes, base64url) is shown once and kept only as a
 * scrypt hash with its own salt. Compared in constant time.
 */

const TOKEN_PATTERN = /^kpi_([a-z2-7]{12})_([A-Za-z0-9_-]{43})$/;

/** scrypt cost: N = 2^14, r = 8, p = 1 (about 16 MiB and tens of milliseconds a check). */
const COST = { N: 16_384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;

export interface NewToken {
  /** The whole token, shown once. */
  token: string;
  tokenId: string;
  /** What is stored: `scrypt$N$r$p$salt$hash`. */
  hash: string;
}

function base32(bytes: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31] ?? '';
      bits -= 5;
    }
  }
  return out;
}

function derive(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_BYTES, { ...options, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Splits a presented token into its id and secret, or undefined when it is not one of ours. */
export function parseToken(token: string): { tokenId: string; secret: string } | undefined {
  const match = TOKEN_PATTERN.exec(token);
  if (!match?.[1] || !match[2]) return undefined;
  return { tokenId: match[1], secret: match[2] };
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, COST);
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** A fresh token, or the hash of a given one (a bootstrap token supplied by the operator). */
export async function newToken(given?: string): Promise<NewToken> {
  const token = given ?? `kpi_${base32(randomBytes(8)).slice(0, 12)}_${randomBytes(32).toString('base64url')}`;
  const parts = parseToken(token);
  if (!parts) throw new Error('a token has the form kpi_<12 letters a-z, 2-7>_<43 characters of base64url>');
  return { token, tokenId: parts.tokenId, hash: await hashSecret(parts.secret) };
}

/** True when `secret` matches the stored hash; constant time in the secret. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(secret, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
