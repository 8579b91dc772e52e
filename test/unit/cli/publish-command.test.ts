import { parsePublishOptions } from '../../../services/cli/commands/publish.js';
import { badLineRecord, formatBadLine, formatMoreBadLines, formatProgress, formatSummary, summarize, type PublishSummary } from '../../../services/cli/publish-report.js';
import { UsageError } from '../../../services/shared/errors.js';
import type { PublishLinesResult } from '../../../services/publish/publish-lines.js';

function usageMessage(raw: Record<string, unknown>): string {
  try {
    parsePublishOptions(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('parsePublishOptions', () => {
  it('starts at line 1 with no rate by default, and reads the flags as commander passes them', () => {
    expect(parsePublishOptions({})).toEqual({ fromLine: 1 });
    expect(parsePublishOptions({ rate: '2500', fromLine: '1204', bad: 'bad.ndjson', dryRun: true, json: true })).toEqual({ rate: 2_500, fromLine: 1_204, bad: 'bad.ndjson', dryRun: true, json: true });
    expect(parsePublishOptions({ rate: '0.5' }).rate).toBe(0.5);
  });

  it.each<[Record<string, unknown>, RegExp]>([
    [{ rate: '0' }, /--rate: expected a number of events per second above 0/],
    [{ rate: '-5' }, /--rate: expected a number of events per second/],
    [{ rate: 'fast' }, /--rate: expected a number of events per second/],
    [{ rate: '' }, /--rate: expected a number of events per second/],
    [{ fromLine: 'abc' }, /--from-line: expected a line number from 1/],
    [{ fromLine: '0' }, /--from-line: expected a line number from 1/],
    [{ fromLine: '1.5' }, /--from-line: expected a line number from 1/],
    [{ fromLine: '99999999999999999999' }, /--from-line: expected a line number from 1/],
    [{ bad: '' }, /--bad: expected a file path/],
  ])('rejects %j', (raw, message) => {
    expect(usageMessage(raw)).toMatch(message);
  });

  it('names every wrong flag at once', () => {
    const message = usageMessage({ rate: '0', fromLine: 'x' });
    expect(message).toMatch(/--rate/);
    expect(message).toMatch(/--from-line/);
  });
});

const RESULT: PublishLinesResult = {
  read: 1_204,
  valid: 1_190,
  sent: 1_190,
  bad: 12,
  skipped: 2,
  lastLine: 1_204,
  done: 1_204,
  byFamily: { sales: 800, orders: 300, returns: 50, tickets: 40 },
  badByCode: { schema_violation: 10, invalid_json: 2 },
  elapsedMs: 3_200,
  stopped: false,
};

const BAD_LINES = [
  { line: 17, code: 'schema_violation', reason: 'payload.lines.0.quantity: Too small: expected number to be >=1' },
  { line: 40, code: 'invalid_json', reason: 'not JSON: Unexpected end of JSON input' },
];

describe('publish report', () => {
  it('reads a bad line as line number, code and reason', () => {
    expect(formatBadLine({ line: 17, code: 'schema_violation', reason: 'payload.lines.0.quantity: Too small' })).toBe('line 17: schema_violation: payload.lines.0.quantity: Too small');
  });

  it('says how many bad lines were not printed, and where they all are', () => {
    expect(formatMoreBadLines(1_250, 'bad.ndjson')).toBe('… and 1,250 more bad lines, all in bad.ndjson');
    expect(formatMoreBadLines(1, undefined)).toBe('… and 1 more bad line (--bad <file> writes all of them)');
  });

  it('writes a bad line for the --bad file as one JSON object with its text', () => {
    const record = badLineRecord({ line: 3, code: 'invalid_json', reason: 'not JSON', bytes: Buffer.from('{"a":'), truncated: false });
    expect(record.endsWith('\n')).toBe(true);
    expect(JSON.parse(record)).toEqual({ line: 3, code: 'invalid_json', reason: 'not JSON', text: '{"a":' });
    expect(JSON.parse(badLineRecord({ line: 4, code: 'oversized', reason: 'too big', bytes: Buffer.from('{'), truncated: true }))).toMatchObject({ truncated: true });
  });

  it('shows progress with lines read, sent, bad and the rate', () => {
    const counts = { ...RESULT, sent: 45_000 };
    expect(formatProgress(counts, 1_000, false)).toBe('publish: read 1,204 lines, sent 45,000, bad 12 (45,000 events/s)');
    expect(formatProgress(counts, 2_000, true)).toBe('publish (dry run): read 1,204 lines, valid 1,190, bad 12 (602 lines/s)');
  });

  it('summarizes a finished run: counts by family and by reason, no resume point', () => {
    const summary = summarize(RESULT, { input: 'history.ndjson', dryRun: false, fromLine: 1, stoppedBy: undefined, badLines: BAD_LINES });
    expect(summary).toMatchObject({ input: 'history.ndjson', lastLine: 1_204, read: 1_204, sent: 1_190, bad: 12, skipped: 2, stoppedBy: null, resumeFromLine: null, seconds: 3.2 });
    expect(formatSummary(summary, { badFile: 'bad.ndjson' })).toEqual([
      'Published history.ndjson: lines 1 … 1,204 in 3.2 s',
      '  read     1,204 lines',
      '  sent     1,190 events: sales 800, orders 300, returns 50, tickets 40 (372 events/s)',
      '  bad      12 not sent: schema_violation 10, invalid_json 2',
      '  skipped  2 blank lines',
      '  (the first 2 bad lines are on stderr; all 12 are in bad.ndjson)',
    ]);
  });

  it('says where to resume after a stop', () => {
    const summary: PublishSummary = summarize({ ...RESULT, stopped: true, lastLine: 2_000, read: 1_001 }, { input: '-', dryRun: false, fromLine: 1_000, stoppedBy: 'SIGINT', badLines: [] });
    expect(summary).toMatchObject({ stoppedBy: 'SIGINT', resumeFromLine: 2_001 });
    // Stopped before the first line: resume where it was to begin.
    expect(summarize({ ...RESULT, stopped: true, lastLine: 0, read: 0 }, { input: '-', dryRun: false, fromLine: 500, stoppedBy: 'SIGTERM', badLines: [] }).resumeFromLine).toBe(500);
  });

  it('says so when --from-line is past the end of the input', () => {
    const empty = { ...RESULT, read: 0, valid: 0, sent: 0, bad: 0, skipped: 0, lastLine: 0, badByCode: {} };
    const lines = formatSummary(summarize(empty, { input: 'h.ndjson', dryRun: true, fromLine: 5_000, stoppedBy: undefined, badLines: [] }));
    expect(lines[0]).toBe('Checked (dry run, nothing sent) h.ndjson: no lines in 3.2 s');
    expect(lines.at(-1)).toBe('  the input has no line at or after --from-line 5000');
  });
});
