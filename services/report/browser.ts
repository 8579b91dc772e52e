import { chromium, type Browser } from 'playwright-core';
import { findBrowser } from '../stack/browser.js';

/**
 * The one adapter around playwright-core: launch a headless Chromium (the system's, found by
 * services/stack/browser.ts; playwright never downloads one), print HTML to PDF, close it.
 * No other module imports playwright-core, so the printer can be swapped without touching
 * the report.
 */

export type { Browser };

/** A print that takes longer than this is stuck (fonts, a huge page). */
const PRINT_TIMEOUT_MS = 60_000;

/** A Chromium of its own for the caller, who closes it. `executablePath` defaults to the one findBrowser() names. */
export async function launchBrowser(options: { executablePath?: string } = {}): Promise<Browser> {
  return chromium.launch({ executablePath: options.executablePath ?? findBrowser(), headless: true, timeout: PRINT_TIMEOUT_MS });
}

/**
 * One print at a time per process: each Chromium takes a hundred megabytes or more, and the
 * HTTP API must not start one per concurrent request.
 */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Prints a self-contained HTML document to an A4 landscape PDF (its own `@page` rules win)
 * in a fresh browser. The page runs no JavaScript and may fetch nothing: every request it
 * tries is aborted, so a string that slipped past escaping still cannot load or run anything.
 */
export function renderPdf(html: string, options: { executablePath?: string } = {}): Promise<Buffer> {
  const print = async (): Promise<Buffer> => {
    const browser = await launchBrowser(options);
    try {
      const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
      await context.route('**/*', (route) => route.abort());
      const page = await context.newPage();
      page.setDefaultTimeout(PRINT_TIMEOUT_MS);
      await page.setContent(html, { waitUntil: 'load' });
      return await page.pdf({ format: 'A4', landscape: true, printBackground: true, preferCSSPageSize: true });
    } finally {
      await browser.close();
    }
  };
  const printed = queue.then(print, print);
  queue = printed.catch(() => undefined);
  return printed;
}
