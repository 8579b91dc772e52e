import type { QueryLimits } from '../shared/config.js';

/** A refusal in ClickHouse's terms: its exception code and name, and the HTTP status a server gives it. */
export class ClickHouseRefusal extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ClickHouseRefusal';
  }
}

/** URL parameters of ClickHouse's HTTP interface that are not settings of the query. */
const INTERFACE_PARAMETERS: ReadonlySet<string> = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'session_id',
  'session_timeout',
  'session_check',
  'compress',
  'decompress',
  'user',
  'password',
  'quota_key',
  'buffer_size',
  'wait_end_of_query',
  'stacktrace',
  'role',
  'enable_http_compression',
  'http_zlib_compression_level',
  'readonly',
]);

/** Settings of the HTTP layer alone: accepted, and without effect on the embedded engine. */
const HTTP_LAYER_SETTINGS: ReadonlySet<string> = new Set([
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'http_write_exception_in_output_format',
  'cancel_http_readonly_queries_on_client_close',
  'add_http_cors_header',
  'http_native_compression_disable_checksumming_on_decompress',
]);

/** The door's limits by the names of the settings that carry them: a caller may lower them only. */
const LIMIT_SETTINGS: Readonly<Record<string, keyof QueryLimits>> = {
  max_execution_time: 'maxExecutionSeconds',
  max_memory_usage: 'maxMemoryBytes',
  max_result_rows: 'maxResultRows',
  max_result_bytes: 'maxResultBytes',
  max_rows_to_read: 'maxRowsToRead',
};

/**
 * Settings a caller may choose: how a result is written and cut, never what may be read or
 * written. Named one by one: some format settings name files (`format_template_resultset`,
 * `output_format_schema`), which the embedded engine would read or write.
 */
const CHOSEN_SETTINGS: Readonly<Record<string, keyof typeof VALUE_PATTERNS>> = {
  result_overflow_mode: 'word',
  extremes: 'boolean',
  max_block_size: 'number',
  max_threads: 'number',
  join_use_nulls: 'boolean',
  date_time_output_format: 'word',
  date_time_input_format: 'word',
  cast_string_to_dynamic_use_inference: 'boolean',
  session_timezone: 'zone',
  use_client_time_zone: 'boolean',
  limit: 'number',
  offset: 'number',
  log_comment: 'word',
  output_format_json_quote_64bit_integers: 'boolean',
  output_format_json_quote_64bit_floats: 'boolean',
  output_format_json_quote_decimals: 'boolean',
  output_format_json_quote_denormals: 'boolean',
  output_format_json_named_tuples_as_objects: 'boolean',
  output_format_json_array_of_rows: 'boolean',
  output_format_json_escape_forward_slashes: 'boolean',
  output_format_json_validate_utf8: 'boolean',
  output_format_decimal_trailing_zeros: 'boolean',
  output_format_csv_crlf_end_of_line: 'boolean',
  output_format_tsv_crlf_end_of_line: 'boolean',
  output_format_write_statistics: 'boolean',
  output_format_pretty_max_rows: 'number',
  output_format_pretty_max_column_pad_width: 'number',
  output_format_pretty_max_value_width: 'number',
  output_format_pretty_color: 'word',
  output_format_pretty_grid_charset: 'word',
  output_format_arrow_string_as_string: 'boolean',
  output_format_parquet_string_as_string: 'boolean',
  format_csv_delimiter: 'word',
  format_csv_allow_single_quotes: 'boolean',
  format_csv_allow_double_quotes: 'boolean',
  format_csv_null_representation: 'word',
  format_tsv_null_representation: 'word',
};

/** Values a setting may take: never a path (no slash), a time zone only as an IANA name. */
const VALUE_PATTERNS = {
  number: /^\d{1,19}$/,
  boolean: /^(0|1|true|false)$/i,
  word: /^[A-Za-z0-9_.:+-]{0,100}$/,
  zone: /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/,
} as const;

/** What a read runs with: the door's limits, lowered where the caller asked, and the other settings chosen. */
export interface ReadSettings {
  limits: QueryLimits;
  settings: string[];
}

/**
 * The settings among a request's URL parameters, checked as a ClickHouse server with
 * settings constraints would check them for a read-only user: the door's limits may be
 * lowered and never raised (452, SETTING_CONSTRAINT_VIOLATION); how results are written may
 * be chosen; anything else is refused (164, READONLY). `param_*` and the interface's own
 * parameters (query, database, query_id, compress, …) are not settings.
 */
export function readSettings(parameters: URLSearchParams, limits: QueryLimits): ReadSettings {
  const lowered: QueryLimits = { ...limits };
  const settings: string[] = [];
  for (const [name, value] of parameters) {
    if (name.startsWith('param_') || INTERFACE_PARAMETERS.has(name) || HTTP_LAYER_SETTINGS.has(name)) continue;
    const limit = LIMIT_SETTINGS[name];
    if (limit !== undefined) {
      if (!VALUE_PATTERNS.number.test(value)) throw badValue(name, value);
      const asked = Number(value);
      // 0 means "no limit" to the engine: that is raising it.
      if (asked === 0 || asked > limits[limit]) {
        throw new ClickHouseRefusal(452, 'SETTING_CONSTRAINT_VIOLATION', 400, `Setting ${name} shouldn't be greater than ${limits[limit]} (or 0, no limit): readers may only lower the door's limits`);
      }
      lowered[limit] = asked;
      continue;
    }
    settings.push(chosenSetting(name, value));
  }
  return { limits: lowered, settings };
}

/** `name = value` for a setting callers may choose, its value checked and quoted where it is a word. */
function chosenSetting(name: string, value: string): string {
  const kind = CHOSEN_SETTINGS[name];
  if (kind === undefined) {
    throw new ClickHouseRefusal(164, 'READONLY', 403, `Cannot modify '${name.slice(0, 100)}' setting through this endpoint: callers may lower the limits and choose how results are written only`);
  }
  if (!VALUE_PATTERNS[kind].test(value)) throw badValue(name, value);
  if (name === 'result_overflow_mode' && !/^(throw|break)$/.test(value)) throw badValue(name, value);
  return `${name} = ${kind === 'word' || kind === 'zone' ? `'${value}'` : value}`;
}

function badValue(name: string, value: string): ClickHouseRefusal {
  return new ClickHouseRefusal(27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', 400, `Cannot parse ${JSON.stringify(value.slice(0, 100))} as the value of setting ${name}`);
}

/**
 * The settings a writer's request carries: the same choices as a reader's, and the limits at
 * any value (a writer has none of the door's); they apply to statements that return rows.
 */
export function writerSettings(parameters: URLSearchParams): string[] {
  const settings: string[] = [];
  for (const [name, value] of parameters) {
    if (name.startsWith('param_') || INTERFACE_PARAMETERS.has(name) || HTTP_LAYER_SETTINGS.has(name)) continue;
    if (LIMIT_SETTINGS[name] !== undefined) {
      if (!VALUE_PATTERNS.number.test(value)) throw badValue(name, value);
      settings.push(`${name} = ${value}`);
      continue;
    }
    settings.push(chosenSetting(name, value));
  }
  return settings;
}
