import { FAMILIES } from '../../schemas/events/registry.js';
import type { BadLine, PublishCounts, PublishLinesResult } from '../publish/publish-lines.js';
import { formatMs } from './output.js';

/** Bad lines printed on stderr; the rest are counted (and all go to the --bad file). */
export const MAX_PRINTED_BAD_LINES = 50;

const n = (v: number): string => v.toLocaleString('en-US');

/** `line 17: schema_violation: payload.lines.0.quantity: …`, as a person reads it on stderr. */
export function formatBadLine(bad: Pick<BadLine, 'line' | 'code' | 'reason'>): string {
  return `line ${bad.line}: ${bad.code}: ${bad.reason}`;
}

/** After the first MAX_PRINTED_BAD_LINES on stderr: how many more there were, and where they are. */
export function formatMoreBadLines(more: number, badFile: string | undefined): string {
  return `… and ${n(more)} more bad line${more === 1 ? '' : 's'}${badFile ? `, all in ${badFile}` : ' (--bad <file> writes all of them)'}`;
}

/**
 * One line of the --bad file: the line number, ingest's reason and the line's text, so
 * `jq -r .text` gives back lines to fix and publish again. An oversized line keeps only its
 * head (`truncated`).
 */
export function badLineRecord(bad: BadLine): string {
  return `${JSON.stringify({ line: bad.line, code: bad.code, reason: bad.reason, text: bad.bytes.toString('utf8'), ...(bad.truncated ? { truncated: true } : {}) })}\n`;
}

/** Events (or lines, in a dry run) per second, with a decimal below 10. */
function perSecond(count: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (count * 1_000) / elapsedMs : 0;
  return rate < 10 ? rate.toFixed(1) : n(Math.round(rate));
}

/** The progress line on stderr, about once a second. */
export function formatProgress(counts: Readonly<PublishCounts>, elapsedMs: number, dryRun: boolean): string {
  return dryRun
    ? `publish (dry run): read ${n(counts.read)} lines, valid ${n(counts.valid)}, bad ${n(counts.bad)} (${perSecond(counts.read, elapsedMs)} lines/s)`
    : `publish: read ${n(counts.read)} lines, sent ${n(counts.sent)}, bad ${n(counts.bad)} (${perSecond(counts.sent, elapsedMs)} events/s)`;
}

/** What a run did, for `--json` and for people: the same facts. */
export interface PublishSummary {
  /** The file, or "-" for standard input. */
  input: string;
  dryRun: boolean;
  fromLine: number;
  /** The last line read; every line up to it is done. 0: none read. */
  lastLine: number;
  read: number;
  valid: number;
  sent: number;
  bad: number;
  skipped: number;
  byFamily: PublishCounts['byFamily'];
  badByCode: PublishCounts['badByCode'];
  /** The first bad lines (at most MAX_PRINTED_BAD_LINES), without their text. */
  badLines: { line: number; code: string; reason: string }[];
  /** The signal that stopped the run early, or null when the input was read to its end. */
  stoppedBy: string | null;
  /** Where to resume when stopped early (--from-line), else null. */
  resumeFromLine: number | null;
  seconds: number;
}

export function summarize(
  result: PublishLinesResult,
  context: { input: string; dryRun: boolean; fromLine: number; stoppedBy: string | undefined; badLines: PublishSummary['badLines'] },
): PublishSummary {
  const stopped = result.stopped ? (context.stoppedBy ?? 'a signal') : null;
  return {
    input: context.input,
    dryRun: context.dryRun,
    fromLine: context.fromLine,
    lastLine: result.lastLine,
    read: result.read,
    valid: result.valid,
    sent: result.sent,
    bad: result.bad,
    skipped: result.skipped,
    byFamily: result.byFamily,
    badByCode: result.badByCode,
    badLines: context.badLines,
    stoppedBy: stopped,
    resumeFromLine: stopped === null ? null : Math.max(result.lastLine, context.fromLine - 1) + 1,
    seconds: Math.round(result.elapsedMs) / 1_000,
  };
}

/** The summary as people read it on stdout. */
export function formatSummary(s: PublishSummary, options: { badFile?: string | undefined } = {}): string[] {
  const source = s.input === '-' ? 'standard input' : s.input;
  const range = s.read === 0 ? 'no lines' : `lines ${n(s.fromLine)} … ${n(s.lastLine)}`;
  const families = FAMILIES.filter((f) => s.byFamily[f] > 0).map((f) => `${f} ${n(s.byFamily[f])}`);
  const codes = Object.entries(s.badByCode).map(([code, count]) => `${code} ${n(count ?? 0)}`);
  const out = [`${s.dryRun ? 'Checked (dry run, nothing sent)' : 'Published'} ${source}: ${range} in ${formatMs(s.seconds * 1_000)}`];
  out.push(`  read     ${n(s.read)} line${s.read === 1 ? '' : 's'}`);
  if (s.dryRun) out.push(`  valid    ${n(s.valid)} events${families.length > 0 ? `: ${families.join(', ')}` : ''}`);
  else out.push(`  sent     ${n(s.sent)} events${families.length > 0 ? `: ${families.join(', ')}` : ''} (${perSecond(s.sent, s.seconds * 1_000)} events/s)`);
  out.push(`  bad      ${n(s.bad)}${s.bad > 0 ? `${s.dryRun ? '' : ' not sent'}: ${codes.join(', ')}` : ''}`);
  out.push(`  skipped  ${n(s.skipped)} blank line${s.skipped === 1 ? '' : 's'}`);
  if (s.bad > s.badLines.length) {
    out.push(`  (the first ${n(s.badLines.length)} bad lines are on stderr${options.badFile ? `; all ${n(s.bad)} are in ${options.badFile}` : '; --bad <file> writes all of them'})`);
  } else if (s.bad > 0 && options.badFile) {
    out.push(`  (bad lines with their reasons are in ${options.badFile})`);
  }
  if (s.read === 0 && s.fromLine > 1) out.push(`  the input has no line at or after --from-line ${s.fromLine}`);
  return out;
}
