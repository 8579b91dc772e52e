import { gunzipSync, gzipSync } from 'node:zlib';
import { uncompressSync } from 'lz4-napi';
import { cityHash128 } from '../../services/api/native-compression.js';
import { startRun, type RunningKpi } from '../support/kpi-run.js';

/**
 * The root ClickHouse listener of a process that holds the embedded store, spoken to as
 * ClickHouse's documented HTTP interface is: every answer here is what a ClickHouse server
 * gives for the same request.
 */
describe('the ClickHouse HTTP interface at the root of KPI_CLICKHOUSE_PORT', () => {
  let kpi: RunningKpi;
  let analyst: string;
  const send = async (path: string, init: { method?: string; body?: string | Buffer; headers?: Record<string, string>; as?: string } = {}) => {
    const res = await fetch(`${kpi.clickhouse}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { ...(init.as === 'nobody' ? {} : { authorization: `Basic ${Buffer.from(`ada:${init.as ?? analyst}`).toString('base64')}` }), ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };
  const text = async (path: string, init: Parameters<typeof send>[1] = {}) => {
    const r = await send(path, init);
    return { ...r, text: r.body.toString('utf8') };
  };

  beforeAll(async () => {
    kpi = await startRun('api', { KPI_SQL_MAX_RESULT_ROWS: '1000' });
    analyst = await kpi.user('ada', 'analyst');
  });

  afterAll(async () => {
    expect(await kpi.stop()).toBe(0);
  });

  it('answers a probe at / and /ping without a credential, and asks one for SQL', async () => {
    expect((await text('/', { as: 'nobody' })).text).toBe('Ok.\n');
    expect((await text('/ping', { as: 'nobody' })).text).toBe('Ok.\n');
    const anonymous = await text('/?query=SELECT%201', { as: 'nobody' });
    expect([anonymous.status, anonymous.headers.get('x-clickhouse-exception-code')]).toEqual([401, '516']);
  });

  it('answers TabSeparated unless default_format, X-ClickHouse-Format or FORMAT says otherwise, with the content type of each', async () => {
    const tsv = await text('/?query=SELECT%20number,%20toString(number)%20FROM%20numbers(2)');
    expect([tsv.text, tsv.headers.get('content-type'), tsv.headers.get('x-clickhouse-format')]).toEqual(['0\t0\n1\t1\n', 'text/tab-separated-values; charset=UTF-8', 'TabSeparated']);
    const json = await text('/?query=SELECT%201%20AS%20x&default_format=JSONEachRow');
    expect([json.text, json.headers.get('x-clickhouse-format')]).toEqual(['{"x":1}\n', 'JSONEachRow']);
    const header = await text('/?query=SELECT%201%20AS%20x', { headers: { 'x-clickhouse-format': 'CSVWithNames' } });
    expect([header.text, header.headers.get('content-type')]).toEqual(['"x"\n1\n', 'text/csv; charset=UTF-8; header=absent']);
    const clause = await text('/?default_format=CSV', { body: 'SELECT 1 AS x FORMAT JSONCompactEachRow' });
    expect(clause.text).toBe('[1]\n');
  });

  it('joins ?query= and the body into one statement', async () => {
    expect((await text('/?query=SELECT%20number%20FROM%20numbers(10)', { body: 'WHERE number >= 8' })).text).toBe('8\n9\n');
  });

  it('reads param_* values once, as the server does: quotes, tabs, newlines, backslashes, arrays, tuples, NULL', async () => {
    const strings = ["it's", 'a\tb', 'line\nbreak', 'back\\slash', '中文'];
    const escape = (s: string): string => s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\t/g, '\\t').replace(/\n/g, '\\n');
    const params = new URLSearchParams({
      param_s: escape(strings[0] ?? ''),
      param_t: escape(strings[1] ?? ''),
      param_a: `[${strings.map((s) => `'${escape(s)}'`).join(',')}]`,
      param_tu: "(7,'x\\'y')",
      param_n: '\\N',
      default_format: 'JSONEachRow',
    });
    const r = await text(`/?${params.toString()}`, { body: 'SELECT {s:String} AS s, {t:String} AS t, {a:Array(String)} AS a, {tu:Tuple(Int8, String)} AS tu, {n:Nullable(Int32)} AS n' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ s: strings[0], t: strings[1], a: strings, tu: [7, "x'y"], n: null });
    // Nothing stays bound after the request: the next one without the parameter is told so.
    const unbound = await text('/?query=SELECT%20{s:String}');
    expect([unbound.status, unbound.headers.get('x-clickhouse-exception-code')]).toEqual([400, '456']);
  });

  it('takes settings as URL parameters within the role: lowering a limit, never raising it', async () => {
    const lowered = await text('/?query=SELECT%20number%20FROM%20numbers(100)&max_result_rows=10');
    expect([lowered.status, lowered.headers.get('x-clickhouse-exception-code')]).toEqual([400, '396']);
    const raised = await text('/?query=SELECT%201&max_result_rows=5000');
    expect([raised.status, raised.headers.get('x-clickhouse-exception-code')]).toEqual([400, '452']);
    // Format settings that name files are not a reader's to choose: the engine would read or write them.
    for (const fileSetting of ['default_format=Template&format_template_resultset=/etc/passwd', 'default_format=Protobuf&output_format_schema=/tmp/kpi-victim.proto']) {
      const refused = await text(`/?query=SELECT%201%20AS%20x&${fileSetting}`);
      expect([refused.status, refused.headers.get('x-clickhouse-exception-code'), refused.text.includes('root:')]).toEqual([403, '164', false]);
    }
    const widened = await text('/?query=SELECT%201&allow_ddl=1');
    expect([widened.status, widened.headers.get('x-clickhouse-exception-code')]).toEqual([403, '164']);
    const chosen = await text('/?query=SELECT%20toUInt64(5)%20AS%20x%20FORMAT%20JSONEachRow&output_format_json_quote_64bit_integers=0');
    expect(chosen.text).toBe('{"x":5}\n');
    // system.settings shows them as a reader's to send (clickhouse-connect reads it on connect); the door checks each one sent.
    const listed = await text(`/?query=${encodeURIComponent("SELECT name, readonly FROM system.settings WHERE name IN ('max_result_rows', 'date_time_input_format') ORDER BY name")}`);
    expect(listed.text).toBe('date_time_input_format\t0\nmax_result_rows\t0\n');
  });

  it('gives real exception codes and statuses: unknown table 60/404, syntax 62/400, unknown database 81/404', async () => {
    const unknown = await text('/?query=SELECT%20*%20FROM%20no_such_table');
    expect([unknown.status, unknown.headers.get('x-clickhouse-exception-code')]).toEqual([404, '60']);
    expect(unknown.text).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)\n$/);
    const syntax = await text('/', { body: 'SELECT FROM WHERE' });
    expect([syntax.status, syntax.headers.get('x-clickhouse-exception-code')]).toEqual([400, '62']);
    const database = await text('/?query=SELECT%201&database=system');
    expect([database.status, database.headers.get('x-clickhouse-exception-code')]).toEqual([404, '81']);
  });

  it('sends the query id, format, time zone, name and a summary with rows, bytes and time', async () => {
    const r = await text('/?query=SELECT%20number%20FROM%20numbers(500)&query_id=analyst-q-1&session_id=notebook-1');
    expect(r.text).toBe(Array.from({ length: 500 }, (_, i) => `${i}\n`).join(''));
    expect(r.headers.get('x-clickhouse-query-id')).toBe('analyst-q-1');
    expect(r.headers.get('x-clickhouse-server-display-name')).toBe('kpi-pipeline');
    expect(r.headers.get('x-clickhouse-timezone')).toMatch(/\//);
    const summary = JSON.parse(r.headers.get('x-clickhouse-summary') ?? '{}') as Record<string, string>;
    // The embedded engine reports the rows and bytes of what it read into the result.
    expect(Number(summary['read_rows'])).toBe(500);
    expect(Number(summary['read_bytes'])).toBe(500 * 8);
    expect(Number(summary['elapsed_ns'])).toBeGreaterThan(0);
    const checked = await text('/?query=SELECT%201&session_id=notebook-1&session_check=1');
    expect([checked.status, checked.headers.get('x-clickhouse-exception-code')]).toEqual([404, '372']);
  });

  it('reads gzip bodies and answers gzip with enable_http_compression=1', async () => {
    const r = await send('/?enable_http_compression=1', { body: gzipSync('SELECT number FROM numbers(3)'), headers: { 'content-encoding': 'gzip', 'accept-encoding': 'gzip' } });
    expect(r.status).toBe(200);
    // fetch decodes gzip itself: the text arrives whole, and the header says it travelled compressed.
    expect(r.body.toString('utf8')).toBe('0\n1\n2\n');
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      void import('node:http').then(({ get }) =>
        get(`${kpi.clickhouse}/?query=SELECT%20number%20FROM%20numbers(3)&enable_http_compression=1`, { headers: { 'accept-encoding': 'gzip', authorization: `Basic ${Buffer.from(`ada:${analyst}`).toString('base64')}` } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
        }).on('error', reject),
      );
    });
    expect([raw.encoding, gunzipSync(raw.body).toString('utf8')]).toEqual(['gzip', '0\n1\n2\n']);
    const unsupported = await text('/', { body: 'SELECT 1', headers: { 'content-encoding': 'snappy' } });
    expect([unsupported.status, unsupported.headers.get('x-clickhouse-exception-code')]).toEqual([400, '89']);
  });

  it('answers compress=1 in ClickHouse blocks: CityHash128 checksum, LZ4 method byte, sizes; errors too', async () => {
    // 900 rows of 2,000 characters: more than one block of 1 MiB.
    const expected = Array.from({ length: 900 }, (_, i) => `${i}\t${'x'.repeat(2000)}\n`).join('');
    const r = await send(`/?query=${encodeURIComponent("SELECT number, repeat('x', 2000) FROM numbers(900)")}&compress=1`);
    expect(r.status).toBe(200);
    const decoded = blocks(r.body);
    expect(decoded.toString('utf8')).toBe(expected);
    expect(r.body.length).toBeLessThan(expected.length / 10);
    const failed = await send('/?query=SELECT%20*%20FROM%20no_such_table&compress=1');
    expect([failed.status, failed.headers.get('x-clickhouse-exception-code')]).toEqual([404, '60']);
    expect(blocks(failed.body).toString('utf8')).toMatch(/^Code: 60\./);
  });
});

/** Reads ClickHouse's compressed blocks, checking each block's checksum. */
function blocks(body: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    expect(body[at + 16]).toBe(0x82);
    const size = body.readUInt32LE(at + 17);
    const plain = body.readUInt32LE(at + 21);
    const block = body.subarray(at + 16, at + 16 + size);
    const [low, high] = cityHash128(block);
    expect([body.readBigUInt64LE(at), body.readBigUInt64LE(at + 8)]).toEqual([low, high]);
    const prefixed = Buffer.alloc(4 + size - 9);
    prefixed.writeUInt32LE(plain, 0);
    block.subarray(9).copy(prefixed, 4);
    out.push(uncompressSync(prefixed));
    at += 16 + size;
  }
  return Buffer.concat(out);
}
