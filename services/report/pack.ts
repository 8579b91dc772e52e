import type { CalendarConfig, Period } from '../../schemas/calendar/index.js';
import type { ScorecardConfig } from '../../schemas/scorecards/index.js';
import type { Operations } from '../operations/operations.js';
import { renderPdf } from './browser.js';
import { gatherReviewPack } from './data.js';
import type { Lang } from './labels.js';
import { renderReviewPack } from './render.js';

/**
 * The quarterly review pack in a format: `html` (one self-contained page), `pdf` (that page
 * printed by headless Chromium, one section per page) or `json` (the data both show, the
 * page's twin for scripts). The command and the HTTP route both make it here.
 */

export const REPORT_FORMATS = ['html', 'pdf', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const CONTENT_TYPES: Record<ReportFormat, string> = {
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  json: 'application/json; charset=utf-8',
};

export interface ReviewPackFile {
  /** kpi-review-<quarter>-<lang>.<format>. */
  filename: string;
  contentType: string;
  body: Buffer;
  /** The quarter's revision the pack shows, and that revision's state (closed, approved). */
  revision: number;
  state: string;
}

export async function reviewPack(
  operations: Operations,
  options: {
    quarter: Period;
    lang: Lang;
    format: ReportFormat;
    calendar: CalendarConfig;
    scorecards: ScorecardConfig;
    /** The Chromium to print with (pdf); default: the one services/stack/browser.ts finds. */
    executablePath?: string;
    /** When the pack is made; shown on its cover. @default now */
    generatedAt?: Date;
  },
): Promise<ReviewPackFile> {
  const data = await gatherReviewPack(operations, options);
  const filename = `kpi-review-${options.quarter.id}-${options.lang}.${options.format}`;
  const shown = { revision: data.revision, state: data.revisionState };
  if (options.format === 'json') return { filename, contentType: CONTENT_TYPES.json, body: Buffer.from(`${JSON.stringify(data)}\n`), ...shown };
  const page = renderReviewPack(data, { lang: options.lang, timeZone: options.calendar.timeZone, generatedAt: (options.generatedAt ?? new Date()).toISOString() });
  if (options.format === 'html') return { filename, contentType: CONTENT_TYPES.html, body: Buffer.from(page), ...shown };
  const pdf = await renderPdf(page, options.executablePath === undefined ? {} : { executablePath: options.executablePath });
  return { filename, contentType: CONTENT_TYPES.pdf, body: pdf, ...shown };
}
