import { hashSecret, newToken, parseToken, verifySecret } from '../../../services/auth/tokens.js';

describe('tokens', () => {
  it('are random, shown once and kept only as a salted scrypt hash', async () => {
    const a = await newToken();
    const b = await newToken();
    expect(a.token).toMatch(/^kpi_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    const secret = a.token.slice('kpi_'.length + 13);
    expect(a.hash).not.toContain(secret);
    // Two hashes of one secret differ (salt), and both verify.
    const again = await hashSecret(secret);
    expect(again).not.toBe(a.hash);
    expect(await verifySecret(secret, a.hash)).toBe(true);
    expect(await verifySecret(secret, again)).toBe(true);
  });

  it('refuses a wrong secret, another scheme and malformed tokens', async () => {
    const { token, hash } = await newToken();
    const parts = parseToken(token);
    expect(parts?.tokenId).toBe(token.slice(4, 16));
    expect(await verifySecret(`${parts?.secret.slice(0, -1) ?? ''}x`, hash)).toBe(false);
    expect(await verifySecret(parts?.secret ?? '', hash.replace('scrypt', 'md5'))).toBe(false);
    for (const bad of ['', 'kpi_', 'kpi_abc_def', `${token}x`, token.replace('kpi_', 'KPI_'), ` ${token}`]) expect(parseToken(bad)).toBeUndefined();
  });

  it('takes a given bootstrap token and refuses one of the wrong form', async () => {
    const { token } = await newToken();
    expect((await newToken(token)).token).toBe(token);
    await expect(newToken('letmein')).rejects.toThrow(/a token has the form/);
  });
});
