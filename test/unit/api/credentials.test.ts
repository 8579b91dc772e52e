import { credentialOf, sameOrigin, utf8Header } from '../../../services/api/credentials.js';

const basic = (text: string): string => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

describe('reading a credential from request headers', () => {
  it('takes a bearer token, ClickHouse basic auth and ClickHouse key headers', () => {
    expect(credentialOf({ authorization: 'Bearer kpi_x' })).toEqual({ token: 'kpi_x' });
    expect(credentialOf({ authorization: 'bearer   kpi_x ' })).toEqual({ token: 'kpi_x' });
    expect(credentialOf({ authorization: basic('ana:kpi_x') })).toEqual({ token: 'kpi_x', user: 'ana' });
    expect(credentialOf({ authorization: basic('ana:kpi:x') })).toEqual({ token: 'kpi:x', user: 'ana' });
    expect(credentialOf({ 'x-clickhouse-user': 'ana', 'x-clickhouse-key': 'kpi_x' })).toEqual({ token: 'kpi_x', user: 'ana' });
    expect(credentialOf({ 'x-clickhouse-key': 'kpi_x' })).toEqual({ token: 'kpi_x' });
  });

  it('finds none in empty or malformed headers', () => {
    for (const authorization of ['', 'Bearer', 'Bearer ', basic('ana'), basic('ana:'), 'Digest abc', 'kpi_x']) expect(credentialOf({ authorization })).toBeUndefined();
    expect(credentialOf({})).toBeUndefined();
  });

  it('decodes header values as UTF-8', () => {
    const latin1 = Buffer.from('王芳', 'utf8').toString('latin1');
    expect(utf8Header(latin1)).toBe('王芳');
    expect(credentialOf({ 'x-clickhouse-user': latin1, 'x-clickhouse-key': 'k' })).toEqual({ token: 'k', user: '王芳' });
    expect(credentialOf({ authorization: basic('王芳:k') })).toEqual({ token: 'k', user: '王芳' });
  });
});

describe('telling a cross-site browser request', () => {
  it('accepts clients that are not browsers and same-origin pages', () => {
    expect(sameOrigin({ host: '127.0.0.1:8080' }, [])).toBe(true);
    expect(sameOrigin({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' }, [])).toBe(true);
    expect(sameOrigin({ host: '127.0.0.1:8080', 'sec-fetch-site': 'same-origin' }, [])).toBe(true);
  });

  it('refuses other origins, null origins and cross-site fetches unless configured', () => {
    expect(sameOrigin({ host: '127.0.0.1:8080', origin: 'http://evil.example' }, [])).toBe(false);
    expect(sameOrigin({ host: '127.0.0.1:8080', origin: 'null' }, [])).toBe(false);
    expect(sameOrigin({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:9999' }, [])).toBe(false);
    expect(sameOrigin({ host: '127.0.0.1:8080', 'sec-fetch-site': 'cross-site' }, [])).toBe(false);
    expect(sameOrigin({ host: '127.0.0.1:8080', origin: 'https://grafana.example' }, ['https://grafana.example'])).toBe(true);
  });
});
