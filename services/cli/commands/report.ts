import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidPeriodError, parsePeriod, type Period } from '../../../schemas/calendar/index.js';
import type { Config } from '../../shared/config.js';
import { UsageError, describeError } from '../../shared/errors.js';
import { loadScorecards } from '../../shared/scorecards.js';
import { LANGS, type Lang } from '../../report/labels.js';
import { REPORT_FORMATS, reviewPack, type ReportFormat } from '../../report/pack.js';
import { ensureBrowser } from '../../stack/browser.js';
import { withSession } from '../session.js';

/**
 * `kpi report --period 2026-Q3 [--lang zh|en] [--format html|pdf|json] [--out file]`: the
 * quarterly review pack of a closed quarter, written to a file (default
 * ./kpi-review-<quarter>-<lang>.<format>, `-` for stdout) whose path is printed. Reading it
 * takes what reading values takes. A PDF needs the headless Chromium, which is installed
 * first when missing (services/stack/browser.ts).
 */
export async function reportCommand(config: Config, options: { period: string; lang: string; format: string; out?: string }): Promise<void> {
  let quarter: Period;
  try {
    quarter = parsePeriod('quarter', options.period, config.business);
  } catch (err) {
    if (err instanceof InvalidPeriodError) throw new UsageError(`--period: ${err.message} (a quarter, e.g. 2026-Q3)`);
    throw err;
  }
  if (!(LANGS as readonly string[]).includes(options.lang)) throw new UsageError(`--lang must be one of ${LANGS.join(', ')}, got ${JSON.stringify(options.lang)}`);
  if (!(REPORT_FORMATS as readonly string[]).includes(options.format)) throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(', ')}, got ${JSON.stringify(options.format)}`);
  const format = options.format as ReportFormat;
  const scorecards = loadScorecards(config.close);
  // Before the store is opened: installing the browser the first time takes a while.
  const executablePath = format === 'pdf' ? ensureBrowser(config) : undefined;
  const pack = await withSession(config, 'values.read', ({ operations }) =>
    reviewPack(operations, { quarter, lang: options.lang as Lang, format, calendar: config.business, scorecards, ...(executablePath ? { executablePath } : {}) }),
  );
  if (options.out === '-') {
    process.stdout.write(pack.body);
    return;
  }
  const out = path.resolve(options.out ?? pack.filename);
  try {
    writeFileSync(out, pack.body);
  } catch (err) {
    throw new UsageError(`cannot write ${out}: ${describeError(err)}`);
  }
  process.stdout.write(`${out}\n`);
  process.stderr.write(`kpi report: ${quarter.id} revision ${pack.revision} (${pack.state}), ${format}, ${(pack.body.length / 1024).toFixed(0)} KiB\n`);
}
