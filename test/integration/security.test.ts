import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { tempDir } from '../support/env.js';
import { request, startRun, type RunningKpi } from '../support/kpi-run.js';

/**
 * The attack suite: hostile requests against a real `kpi run`, as someone who reaches the
 * port (or a web page in the browser of someone who can) would send them. Each must be
 * refused with a clear status naming the reason, and after each one the store, the files
 * outside the data folder and other clients' requests must be as they were.
 */
describe('a running kpi under attack', () => {
  let kpi: RunningKpi;
  const tokens: Record<string, string> = {};
  /** A file an escaped query would write: it must never appear. */
  const outfile = path.join(tempDir('pwn'), 'pwned.txt');

  beforeAll(async () => {
    kpi = await startRun('run', { KPI_SQL_MAX_EXECUTION_SECONDS: '2', KPI_SQL_MAX_RESULT_ROWS: '1000', KPI_SQL_MAX_CONCURRENT: '2' });
    for (const role of ['viewer', 'analyst', 'operator', 'finance'] as const) tokens[role] = await kpi.user(`${role}-1`, role);
    tokens['admin'] = kpi.adminToken;
    // Something to protect: an import with its audit record.
    const seeded = await request(kpi.base, '/v1/targets', { method: 'POST', token: tokens['operator'], body: 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S001,1250000\n', headers: { 'content-type': 'text/csv' } });
    expect(seeded.status).toBe(200);
  });

  afterAll(async () => {
    expect(await kpi.stop()).toBe(0);
  });

  const sql = (query: string, token: string | undefined, init: { method?: string; headers?: Record<string, string> } = {}) =>
    init.method === 'GET'
      ? request(kpi.base, `/clickhouse?query=${encodeURIComponent(query)}`, { ...(token ? { token } : {}), ...(init.headers ? { headers: init.headers } : {}) })
      : request(kpi.base, '/clickhouse', { method: 'POST', ...(token ? { token } : {}), body: query, headers: { 'content-type': 'text/plain', ...init.headers } });

  /** What must never change: the tables, the audit trail and imports, and the file system outside the store. */
  async function snapshot(): Promise<string> {
    const read = async (q: string): Promise<string> => {
      const r = await sql(q, tokens['admin']);
      if (r.status !== 200) throw new Error(`snapshot query failed: ${r.status} ${r.text}`);
      return r.text;
    };
    return [
      await read("SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name"),
      await read('SELECT count(), sum(rows) FROM imports'),
      await read('SELECT count() FROM kpi_targets'),
      await read('SELECT count() FROM period_audit'),
      (await request(kpi.base, '/v1/users', { token: tokens['admin'] })).text,
      await read("SELECT getSetting('readonly')"),
      String(existsSync(outfile)),
    ].join('|');
  }

  let before = '';
  beforeEach(async () => {
    before = await snapshot();
  });
  afterEach(async () => {
    // Other clients are unaffected: health answers, a viewer reads, and nothing changed.
    expect((await request(kpi.base, '/health')).status).toBe(200);
    expect((await request(kpi.base, '/v1/periods', { token: tokens['viewer'] })).status).toBe(200);
    expect(await snapshot()).toBe(before);
  });

  const refused = (status: number, reason: RegExp) => (r: { status: number; text: string }) => {
    expect(r.status).toBe(status);
    expect(r.text).toMatch(reason);
    // Errors name the problem, never a stack trace or a path of the host.
    expect(r.text).not.toMatch(/\n\s+at |\/work\/|node_modules|\/root\//);
  };

  describe('no credential, or a bad one', () => {
    it.each([
      ['GET', '/v1/values?grain=quarter&period=2026-Q3'],
      ['GET', '/v1/periods'],
      ['GET', '/metrics'],
      ['GET', '/v1/users'],
      ['POST', '/v1/targets'],
      ['POST', '/clickhouse'],
      ['GET', '/clickhouse?query=SELECT%201'],
    ])('%s %s without a credential is 401', async (method, route) => {
      refused(401, /credential is required/)(await request(kpi.base, route, { method, ...(method === 'POST' ? { body: '{}' } : {}) }));
    });

    it('a made-up, a malformed and a wrong-secret token are 401, with one answer for all', async () => {
      const real = tokens['viewer'] ?? '';
      const wrongSecret = `${real.slice(0, -4)}AAAA`;
      for (const token of ['kpi_aaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'not-a-token', wrongSecret]) {
        const r = await request(kpi.base, '/v1/periods', { token });
        expect(r.status).toBe(401);
        expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
      }
      refused(401, /unknown or wrong token/)(await request(kpi.base, '/v1/periods', { token: wrongSecret }));
    });

    it('ClickHouse basic auth with another user name than the token owner is 401', async () => {
      const basic = Buffer.from(`admin:${tokens['analyst'] ?? ''}`).toString('base64');
      refused(401, /does not belong to admin/)(await request(kpi.base, '/clickhouse?query=SELECT%201', { headers: { authorization: `Basic ${basic}` } }));
    });

    it('a revoked token and a disabled user stop working at once', async () => {
      const token = await kpi.user('short-lived', 'viewer');
      expect((await request(kpi.base, '/v1/periods', { token })).status).toBe(200);
      const id = /^kpi_([a-z2-7]{12})_/.exec(token)?.[1] ?? '';
      expect((await request(kpi.base, `/v1/tokens/${id}/revoke`, { method: 'POST', token: tokens['admin'], body: '{}' })).status).toBe(200);
      refused(401, /revoked/)(await request(kpi.base, '/v1/periods', { token }));
      const other = await kpi.user('leaver', 'analyst');
      expect((await request(kpi.base, '/v1/users/leaver/disable', { method: 'POST', token: tokens['admin'], body: '{}' })).status).toBe(200);
      refused(401, /disabled/)(await request(kpi.base, '/v1/periods', { token: other }));
      before = await snapshot();
    });
  });

  describe('a role that does not allow it', () => {
    it.each([
      ['viewer', 'POST', '/v1/targets', 'text/csv', 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S009,1\n', /needs the operator role/],
      ['analyst', 'POST', '/v1/inputs', 'application/json', '{"rows":[]}', /needs the operator role/],
      ['finance', 'POST', '/v1/targets', 'text/csv', 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S009,1\n', /needs the operator role/],
      ['operator', 'POST', '/v1/quarters/2026-Q3/approve', 'application/json', '{}', /needs the finance role/],
      ['admin', 'POST', '/v1/quarters/2026-Q3/approve', 'application/json', '{}', /needs the finance role/],
      ['analyst', 'POST', '/v1/users', 'application/json', '{"name":"mallory","role":"admin"}', /needs the admin role/],
      ['operator', 'POST', '/v1/tokens', 'application/json', '{"user":"admin","name":"x"}', /needs the admin role/],
      ['viewer', 'POST', '/clickhouse', 'text/plain', 'SELECT 1', /needs the analyst or admin or service role/],
      ['finance', 'GET', '/v1/users', '', '', /needs the admin role/],
    ])('%s: %s %s is 403', async (role, method, route, type, body, reason) => {
      refused(403, reason)(await request(kpi.base, route, { method, token: tokens[role] ?? '', ...(body ? { body } : {}), ...(type ? { headers: { 'content-type': type } } : {}) }));
    });

    it('an admin cannot create a token scoped above its owner, nor a user with an unknown role', async () => {
      refused(400, /can be scoped to viewer or a role with fewer rights/)(
        await request(kpi.base, '/v1/tokens', { method: 'POST', token: tokens['admin'], body: JSON.stringify({ user: 'viewer-1', name: 'escalate', scope: 'admin' }) }),
      );
      refused(400, /role must be one of/)(await request(kpi.base, '/v1/users', { method: 'POST', token: tokens['admin'], body: JSON.stringify({ name: 'x', role: 'root' }) }));
    });
  });

  describe('the SQL door', () => {
    it.each([
      ['ALTER TABLE period_audit DELETE WHERE 1', 'analyst', 403, /ALTER/],
      ['DROP TABLE kpi_values', 'analyst', 403, /DROP/],
      ['TRUNCATE TABLE imports', 'analyst', 403, /TRUNCATE/],
      ["INSERT INTO period_revisions (grain, period, revision, state) VALUES ('quarter', '2026-Q3', 9, 'approved')", 'analyst', 403, /INSERT/],
      ['KILL QUERY WHERE 1', 'admin', 403, /KILL/],
      ['SYSTEM SHUTDOWN', 'admin', 403, /SYSTEM/],
      ['CREATE TEMPORARY TABLE period_revisions (grain String)', 'admin', 403, /TEMPORARY/],
      ["SELECT * FROM file('/proc/self/environ', 'LineAsString')", 'analyst', 403, /file\(\)/],
      ["SELECT file('/etc/passwd')", 'analyst', 403, /file/],
      ["SELECT * FROM url('http://127.0.0.1:7233/', 'LineAsString')", 'analyst', 403, /url\(\)/],
      ["SELECT * FROM executable('id', 'TSV', 'x String')", 'admin', 403, /executable/],
      ["INSERT INTO FUNCTION file('/tmp/kpi-pwn.csv', 'CSV', 'x String') SELECT 'x'", 'admin', 403, /file/],
      ['SELECT * FROM tokens', 'analyst', 403, /tokens/],
      ['SELECT name, role FROM principals', 'analyst', 403, /principals/],
      ['SELECT 1 SETTINGS readonly = 0', 'analyst', 403, /SETTINGS/],
      ['SELECT 1 SETTINGS max_execution_time = 100000', 'analyst', 403, /SETTINGS/],
      ['SET readonly = 0', 'analyst', 403, /SET/],
      ['USE system', 'analyst', 403, /USE/],
      ['SELECT query FROM system.processes', 'analyst', 403, /system\.processes/],
      ['SELECT 1; DROP TABLE kpi_values', 'analyst', 400, /parse|Syntax|Multi-statements/i],
    ])('%s as %s is refused (%i)', async (query, role, status, reason) => {
      refused(status, reason)(await sql(query, tokens[role]));
    });

    it('INTO OUTFILE in a "read-only" GET writes no file', async () => {
      refused(403, /INTO OUTFILE/)(await sql(`SELECT 'x' INTO OUTFILE '${outfile}' TRUNCATE`, tokens['analyst'], { method: 'GET' }));
      refused(403, /INTO OUTFILE/)(await sql(`SELECT 'x' INTO OUTFILE '${outfile}'`, tokens['admin']));
      expect(existsSync(outfile)).toBe(false);
    });

    it('answers the pathological parser bodies within a second', async () => {
      for (const spaces of [2_400, 300_000]) {
        const t0 = Date.now();
        const r = await sql(`SELECT (${' '.repeat(spaces)},`, tokens['analyst']);
        expect(r.status).toBe(400);
        expect(Date.now() - t0).toBeLessThan(1_000);
      }
    });

    it('refuses a body over 1 MiB with 413', async () => {
      refused(413, /over 1048576 bytes/)(await sql(`SELECT '${'x'.repeat(1_100_000)}'`, tokens['analyst']));
    });

    it('cuts a runaway query at its time limit while /health answers throughout', async () => {
      let slowest = 0;
      let probing = true;
      const probes = (async () => {
        while (probing) {
          const t0 = Date.now();
          expect((await request(kpi.base, '/health')).status).toBe(200);
          slowest = Math.max(slowest, Date.now() - t0);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const t0 = Date.now();
      const r = await sql("SELECT count() FROM numbers(1500000000) WHERE hex(SHA256(toString(number))) = ''", tokens['analyst']);
      const took = Date.now() - t0;
      probing = false;
      await probes;
      refused(408, /Code: 159\..*TIMEOUT_EXCEEDED/)(r);
      expect(took).toBeGreaterThanOrEqual(1_900);
      expect(took).toBeLessThan(10_000);
      expect(slowest).toBeLessThan(500);
    });

    it('runs at most KPI_SQL_MAX_CONCURRENT reads at once and refuses the next with 503', async () => {
      const slow = "SELECT count() FROM numbers(1500000000) WHERE hex(SHA256(toString(number))) = ''";
      const answers = await Promise.all([sql(slow, tokens['analyst']), sql(slow, tokens['analyst']), new Promise((r) => setTimeout(r, 300)).then(() => sql('SELECT 1', tokens['analyst']))]);
      expect(answers.map((a) => a.status)).toEqual([408, 408, 503]);
      refused(503, /Code: 202\..*at most 2 run at once.*TOO_MANY_SIMULTANEOUS_QUERIES/)(answers[2] ?? { status: 0, text: '' });
    });

    it('refuses a query that would read more rows than allowed before it starts', async () => {
      refused(400, /Code: 158\..*TOO_MANY_ROWS/)(await sql('SELECT count() FROM numbers(1000000000000)', tokens['analyst']));
    });

    it('limits the size of a result, also of EXCEPT, INTERSECT and UNION', async () => {
      refused(400, /Code: 396\./)(await sql('SELECT number FROM numbers(5000)', tokens['analyst']));
      refused(400, /Code: 396\./)(await sql('SELECT number FROM numbers(5000) EXCEPT SELECT number FROM numbers(1)', tokens['analyst']));
      refused(400, /Code: 396\./)(await sql('SELECT number FROM numbers(5000) INTERSECT SELECT number FROM numbers(5000)', tokens['analyst']));
      refused(400, /Code: 396\./)(await sql('SELECT number FROM numbers(900) UNION ALL SELECT number FROM numbers(900)', tokens['analyst']));
    });

    it('joins ?query= and a body into one statement as a server does, and checks the whole; rows only for an INSERT', async () => {
      const joined = (query: string, body: string, token: string | undefined) =>
        request(kpi.base, `/clickhouse?query=${encodeURIComponent(query)}`, { method: 'POST', ...(token ? { token } : {}), body, headers: { 'content-type': 'text/plain' } });
      refused(400, /Code: 62\..*Multi-statements/)(await joined('SELECT 1', '; SELECT token_id, hash FROM tokens', tokens['analyst']));
      refused(403, /table tokens is not readable/)(await joined('SELECT 1', ' UNION ALL SELECT hash FROM tokens', tokens['analyst']));
      refused(403, /rows beside \?query= are taken only for INSERT/)(await joined('INSERT INTO kpi_targets (kpi) FORMAT Values', "('x'); SELECT hash FROM tokens", tokens['admin']));
      const read = await joined('SELECT number FROM numbers(10)', 'WHERE number > 7', tokens['analyst']);
      expect([read.status, read.text]).toEqual([200, '8\n9\n']);
    });

    it('still answers a documented read, with the parameters bound', async () => {
      const r = await request(kpi.base, `/clickhouse?query=${encodeURIComponent('SELECT unit, value FROM kpi_targets WHERE unit = {u: String}')}&param_u=${encodeURIComponent("S001' OR 1=1 --")}`, { token: tokens['analyst'] });
      expect(r.status).toBe(200);
      expect(r.text).toBe('');
    });
  });

  describe('browsers and transports', () => {
    it('refuses a cross-site POST even with a credential (CSRF)', async () => {
      refused(403, /cross-site/)(await sql('SELECT 1', tokens['analyst'], { headers: { origin: 'http://evil.example' } }));
      refused(403, /cross-site/)(await request(kpi.base, '/v1/targets', { method: 'POST', token: tokens['operator'], body: 'kpi,grain,period,level,unit,value\n', headers: { 'content-type': 'text/csv', 'sec-fetch-site': 'cross-site' } }));
    });

    it('refuses another Host name (DNS rebinding)', async () => {
      // fetch() keeps its own Host header: a plain HTTP request sends the forged one.
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(`${kpi.base}/v1/periods`, { headers: { host: 'evil.example', authorization: `Bearer ${tokens['viewer'] ?? ''}` } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end();
      });
      refused(403, /host .{0,2}evil\.example.{0,2} are refused/)(answer);
    });

    it('sends no CORS headers unless configured', async () => {
      const r = await request(kpi.base, '/v1/periods', { token: tokens['viewer'], headers: { origin: `${kpi.base}` } });
      expect(r.status).toBe(200);
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('takes only JSON or CSV on data routes', async () => {
      refused(415, /Unsupported Media Type/i)(await request(kpi.base, '/v1/targets', { method: 'POST', token: tokens['operator'], body: '{"rows":[]}', headers: { 'content-type': 'text/plain' } }));
      refused(415, /Unsupported Media Type/i)(await request(kpi.base, '/v1/users', { method: 'POST', token: tokens['admin'], body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    });

    it('closes a connection whose request head never ends (slowloris) with 408', async () => {
      const port = Number(new URL(kpi.base).port);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n'));
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
        setTimeout(() => {
          socket.destroy();
          reject(new Error('the server kept a slow request head open for 30 s'));
        }, 30_000);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    });
  });

  describe('forged identities and hostile values', () => {
    it('refuses a typed name: who imports is who is authenticated', async () => {
      refused(400, /comes from the credential/)(
        await request(kpi.base, '/v1/targets', { method: 'POST', token: tokens['operator'], body: 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S002,1\n', headers: { 'content-type': 'text/csv', 'x-imported-by': 'Chief Financial Officer' } }),
      );
      refused(400, /comes from the credential/)(
        await request(kpi.base, '/v1/targets', { method: 'POST', token: tokens['operator'], body: JSON.stringify({ importedBy: 'Chief Financial Officer', rows: [{ kpi: 'net_sales', grain: 'quarter', period: '2026-Q3', level: 'store', unit: 'S002', value: 1 }] }) }),
      );
    });

    it.each([
      ['null', null, /got null/],
      ['a blank string', ' ', /expected a number/],
      ['an array', [], /expected a number/],
      ['false', false, /expected a number/],
      ['true', true, /expected a number/],
      ['hex in a string', '0x10', /expected a number/],
    ])('refuses an input value of %s, storing nothing', async (_what, value, reason) => {
      const body = JSON.stringify({ rows: [{ kpi: 'account_accuracy', grain: 'quarter', period: '2026-Q3', level: 'store', unit: 'S001', value }] });
      refused(400, reason)(await request(kpi.base, '/v1/inputs', { method: 'POST', token: tokens['operator'], body }));
    });

    it('refuses a ratio that is not finite, hex in a CSV, and a revision that would wrap around', async () => {
      const body = JSON.stringify({ rows: [{ kpi: 'staff_turnover_rate', grain: 'quarter', period: '2026-Q3', level: 'store', unit: 'S001', numerator: 1e308, denominator: 1e-308 }] });
      refused(400, /not a finite number/)(await request(kpi.base, '/v1/inputs', { method: 'POST', token: tokens['operator'], body }));
      refused(400, /expected a number/)(await request(kpi.base, '/v1/targets', { method: 'POST', token: tokens['operator'], body: 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S003,0x10\n', headers: { 'content-type': 'text/csv' } }));
      refused(400, /revision: expected a whole number from 0 to 4294967295, got .{0,2}4294967297.{0,2} \(too large\)/)(await request(kpi.base, '/v1/values?grain=quarter&period=2026-Q3&revision=4294967297', { token: tokens['viewer'] }));
    });

    it('refuses SQL in a unit id and a repeated query parameter', async () => {
      const body = JSON.stringify({ rows: [{ kpi: 'net_sales', grain: 'month', period: '2026-07', level: 'store', unit: "S1'; DROP TABLE kpi_targets; --", value: 1 }] });
      refused(400, /unit: expected a unit id/)(await request(kpi.base, '/v1/targets', { method: 'POST', token: tokens['operator'], body }));
      refused(400, /given more than once/)(await request(kpi.base, '/v1/values?grain=quarter&period=2026-Q3&grain=month', { token: tokens['viewer'] }));
    });
  });

  it('records the authenticated principal, in UTF-8, for an import', async () => {
    const token = await kpi.user('王芳', 'operator');
    const r = await request(kpi.base, '/v1/targets', { method: 'POST', token, body: 'kpi,grain,period,level,unit,value\nnet_sales,quarter,2026-Q3,store,S004,900000\n', headers: { 'content-type': 'text/csv' } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ importedBy: '王芳', rows: 1 });
    const stored = await sql("SELECT imported_by FROM imports WHERE imported_by != 'operator-1'", tokens['admin']);
    expect(stored.text).toBe('王芳\n');
    // A ClickHouse client sending the UTF-8 name in X-ClickHouse-User is that user.
    const ch = await fetch(`${kpi.base}/clickhouse?query=SELECT%201`, { headers: { 'x-clickhouse-user': Buffer.from('王芳', 'utf8').toString('latin1'), 'x-clickhouse-key': token } });
    expect(ch.status).toBe(403);
    before = await snapshot();
  });
});
