import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../shared/config.js';
import { PrerequisiteError, StackError } from '../shared/errors.js';
import { runQuiet } from './processes.js';

/**
 * The headless Chromium that prints the quarterly review pack to PDF, and what checking a
 * printed pack needs: poppler's pdftoppm (pages to PNG) and fonts with Chinese glyphs. They
 * are Debian packages, not npm ones, and playwright-core never downloads a browser of its
 * own here: the browser is `CHROME_PATH`, else Debian's chromium-headless-shell, else a
 * `chromium` on PATH. When something is missing and this process may run apt-get (root),
 * it installs the packages; otherwise it says exactly what to install.
 */

/**
 * Where Debian's chromium-headless-shell puts its executable (bookworm names it
 * chromium-headless-shell; newer releases chrome-headless-shell). The binary itself, not the
 * /usr/bin wrapper script, so closing the browser ends the process that was started.
 */
const DEBIAN_HEADLESS_SHELLS = ['/usr/lib/chromium/chrome-headless-shell', '/usr/lib/chromium/chromium-headless-shell'];

/** The Debian packages of the browser, the CJK fonts and pdftoppm, in that order. */
export const BROWSER_PACKAGES = ['chromium-headless-shell', 'fonts-noto-cjk', 'poppler-utils'] as const;

const INSTALL_HINT =
  `Debian/Ubuntu: apt-get install -y --no-install-recommends ${BROWSER_PACKAGES.join(' ')}; ` +
  'macOS: brew install poppler && brew install --cask chromium font-noto-sans-cjk-sc; ' +
  'or set CHROME_PATH to a Chromium or Chrome executable';

type Say = (line: string) => void;

const toStderr: Say = (line) => process.stderr.write(`${line}\n`);

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first executable called `name` on PATH. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** Where dpkg says chromium-headless-shell put its executable (other layouts than Debian's own). */
function dpkgHeadlessShell(): string | undefined {
  const listed = runQuiet('dpkg', ['-L', 'chromium-headless-shell'], { timeoutMs: 30_000 });
  if (listed.status !== 0) return undefined;
  return listed.output
    .split('\n')
    .map((line) => line.trim())
    .find((line) => /\/lib\/.*\/chrom(e|ium)-headless-shell$/.test(line) && isExecutable(line));
}

/**
 * CHROME_PATH, read here rather than in the config schema: it is a setting of this machine's
 * browser, like JAVA_HOME's java, and only the commands that print PDFs look at it.
 */
function chromePathSetting(): string | undefined {
  const value = process.env['CHROME_PATH']?.trim();
  return value ? value : undefined;
}

/**
 * The Chromium executable to print with, without installing anything; throws a
 * PrerequisiteError naming what to install. A CHROME_PATH that is not an executable file is
 * an error, never silently replaced by another browser.
 */
export function findBrowser(): string {
  const configured = chromePathSetting();
  if (configured !== undefined) {
    if (!isExecutable(configured)) throw new PrerequisiteError(`CHROME_PATH=${configured} is not an executable file; point it at a Chromium or Chrome executable, or unset it`);
    return configured;
  }
  const found = DEBIAN_HEADLESS_SHELLS.find(isExecutable) ?? dpkgHeadlessShell() ?? onPath('chromium-headless-shell') ?? onPath('chromium') ?? onPath('chromium-browser');
  if (found === undefined) throw new PrerequisiteError(`The PDF review pack needs a headless Chromium, and none was found. Install it (${INSTALL_HINT}).`);
  return found;
}

/** True when fontconfig knows a font with Chinese glyphs. */
function hasCjkFont(): boolean {
  const listed = runQuiet('fc-list', [':lang=zh', 'family'], { timeoutMs: 30_000 });
  return listed.status === 0 && listed.output.trim().length > 0;
}

function hasPdftoppm(): boolean {
  const probe = runQuiet('pdftoppm', ['-v'], { timeoutMs: 30_000 });
  return !probe.missing && probe.status === 0;
}

/** The packages of BROWSER_PACKAGES whose part is missing on this machine. */
function missingPackages(): string[] {
  let browser = true;
  try {
    findBrowser();
  } catch {
    browser = false;
  }
  const present = [browser, hasCjkFont(), hasPdftoppm()];
  return BROWSER_PACKAGES.filter((_, i) => !present[i]);
}

function aptInstall(packages: readonly string[], say: Say): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): ReturnType<typeof runQuiet> => runQuiet('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env, timeoutMs: 30 * 60_000 });
  say(`Installing ${packages.join(', ')} with apt-get (first run only)…`);
  let installed = install();
  if (installed.status !== 0) {
    // A fresh machine has no package lists yet ("Unable to locate package").
    say('apt-get could not install them as the package lists stand; running apt-get update first…');
    const updated = runQuiet('apt-get', ['update'], { env, timeoutMs: 15 * 60_000 });
    if (updated.status !== 0) throw new StackError(`apt-get update failed:\n${updated.output.trim().slice(-1500)}`);
    installed = install();
  }
  if (installed.status !== 0) throw new StackError(`apt-get install ${packages.join(' ')} failed:\n${installed.output.trim().slice(-1500)}`);
}

/**
 * The Chromium executable to print the review pack with, after making sure the browser, the
 * CJK fonts and pdftoppm are there: installed with apt-get when this process runs as root
 * on a machine that has it (the first run takes a minute or two), else a PrerequisiteError
 * that names the packages. `_config` keeps the shape of the other installers of the stack;
 * these are system packages, so nothing goes under the tools folder.
 */
export function ensureBrowser(_config: Config, say: Say = toStderr): string {
  // A wrong CHROME_PATH is named as such, never papered over by installing another browser.
  if (chromePathSetting() !== undefined) findBrowser();
  const missing = missingPackages();
  if (missing.length === 0) return findBrowser();
  const root = process.getuid?.() === 0;
  if (!root || onPath('apt-get') === undefined) {
    throw new PrerequisiteError(`The PDF review pack and its checks need ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} missing. Install them (${INSTALL_HINT}).`);
  }
  aptInstall(missing, say);
  const still = missingPackages();
  if (still.length > 0) throw new StackError(`apt-get installed ${missing.join(', ')}, yet ${still.join(', ')} ${still.length === 1 ? 'is' : 'are'} still missing`);
  return findBrowser();
}
