import { ClickHouseRefusal, readSettings, writerSettings } from '../../../services/api/clickhouse-settings.js';

const LIMITS = { maxExecutionSeconds: 30, maxMemoryBytes: 2_000_000_000, maxResultRows: 1000, maxResultBytes: 1_000_000, maxRowsToRead: 5_000_000 };
const params = (query: string): URLSearchParams => new URLSearchParams(query);
const refusal = (fn: () => unknown): { code: number; status: number; message: string } => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ClickHouseRefusal) return { code: err.code, status: err.status, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
};

describe('settings a reader sends as URL parameters', () => {
  it('leaves out the interface parameters, query parameters and HTTP-layer settings', () => {
    const read = readSettings(params('query=SELECT+1&database=kpi&default_format=JSON&query_id=q1&session_id=s&compress=1&param_x=1&wait_end_of_query=1&send_progress_in_http_headers=1&enable_http_compression=1&readonly=1'), LIMITS);
    expect(read).toEqual({ limits: LIMITS, settings: [] });
  });

  it('lowers a limit and refuses to raise it or lift it with 0 (452)', () => {
    expect(readSettings(params('max_result_rows=10&max_execution_time=5'), LIMITS).limits).toEqual({ ...LIMITS, maxResultRows: 10, maxExecutionSeconds: 5 });
    expect(refusal(() => readSettings(params('max_result_rows=1001'), LIMITS))).toMatchObject({ code: 452, status: 400, message: expect.stringMatching(/max_result_rows shouldn't be greater than 1000/) as unknown });
    expect(refusal(() => readSettings(params('max_rows_to_read=0'), LIMITS))).toMatchObject({ code: 452 });
  });

  it('takes output settings with checked values, quoted where they are words', () => {
    const read = readSettings(params('output_format_json_quote_64bit_integers=0&date_time_output_format=iso&extremes=1&result_overflow_mode=break'), LIMITS);
    expect(read.settings).toEqual(['output_format_json_quote_64bit_integers = 0', "date_time_output_format = 'iso'", 'extremes = 1', "result_overflow_mode = 'break'"]);
    expect(readSettings(params('session_timezone=America/Argentina/Buenos_Aires'), LIMITS).settings).toEqual(["session_timezone = 'America/Argentina/Buenos_Aires'"]);
  });

  it.each([
    ['a setting that widens what may be read or done', 'allow_ddl=1', 164],
    ['readonly lifted through another name', 'allow_introspection_functions=1', 164],
    ['a hostile value', "date_time_output_format=iso'%20SETTINGS%20readonly=0", 27],
    ['a number that is not one', 'max_result_rows=1e3', 27],
    ['an overflow mode of neither kind', 'result_overflow_mode=any', 27],
    ['a format setting that reads a file', 'format_template_resultset=/etc/passwd', 164],
    ['a format setting that writes a file', 'output_format_schema=/tmp/victim.txt', 164],
    ['a path where a word goes', 'format_csv_null_representation=/etc/passwd', 27],
    ['a path where a time zone goes', 'session_timezone=../../etc/passwd', 27],
  ])('refuses %s', (_what, query, code) => {
    expect(refusal(() => readSettings(params(query), LIMITS)).code).toBe(code);
  });

  it('gives a writer the same choices, and the limits at any value', () => {
    expect(writerSettings(params('query=INSERT&param_a=1&wait_end_of_query=1&max_result_rows=5000000&date_time_input_format=best_effort'))).toEqual(['max_result_rows = 5000000', "date_time_input_format = 'best_effort'"]);
    expect(refusal(() => writerSettings(params('insert_deduplicate=0'))).code).toBe(164);
  });
});
