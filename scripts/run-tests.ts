/**
 * `npm test`: type check, lint, then every jest project against the real local stack.
 * Starts the stack when it is not running and stops at the end only what it started;
 * a stack the user already runs is left alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../services/shared/config.js';
import { describeError } from '../services/shared/errors.js';
import { projectRoot } from '../services/shared/paths.js';
import { ensureJdbcClient, ensurePythonClient } from '../services/stack/analyst-clients.js';
import { ensureBrowser } from '../services/stack/browser.js';
import { stackDown, stackUp } from '../services/stack/stack.js';
import { formatMs } from '../services/cli/output.js';

const root = projectRoot();
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function step(label: string, command: string, args: string[]): void {
  const t0 = Date.now();
  say(`▶ ${label}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${label} failed (exit ${result.status ?? result.signal})`);
  say(`✓ ${label} (${formatMs(Date.now() - t0)})`);
}

/**
 * Jest's default cache folder (jest-config's getCacheDirectory), computed before the run's
 * TMPDIR changes os.tmpdir(): the transform cache outlives the run's temporary folder.
 */
function jestCacheDirectory(): string {
  const base = path.join(realpathSync(os.tmpdir()), 'jest');
  return process.getuid === undefined ? base : `${base}_${process.getuid().toString(36)}`;
}

async function main(): Promise<number> {
  const config = loadConfig(process.env);
  const extraArgs = process.argv.slice(2);
  const bin = (name: string): string => path.join(root, 'node_modules', '.bin', name);

  step('type check (tsc --noEmit)', bin('tsc'), ['--noEmit', '-p', '.']);
  step('lint (eslint)', bin('eslint'), ['.']);

  // The clients analysts use, run by the tests against the ClickHouse interface.
  const t1 = Date.now();
  say('▶ analyst clients (clickhouse-connect, JDBC)');
  ensurePythonClient(config, (line) => say(`  ${line}`));
  ensureJdbcClient(config, (line) => say(`  ${line}`));
  say(`✓ analyst clients (${formatMs(Date.now() - t1)})`);

  // The headless Chromium the review pack is printed with, and the fonts and pdftoppm its
  // tests read the pages with (apt-get, when missing and run as root).
  const t2 = Date.now();
  say('▶ browser (headless Chromium, CJK fonts, pdftoppm)');
  const browser = ensureBrowser(config, (line) => say(`  ${line}`));
  say(`✓ browser: ${browser} (${formatMs(Date.now() - t2)})`);

  const t0 = Date.now();
  say('▶ local stack');
  const up = await stackUp(config, (line) => say(`  ${line}`));
  say(`✓ local stack: ${up.started.length > 0 ? `started ${up.started.join(', ')}` : 'already running'} (${formatMs(Date.now() - t0)})`);

  const results = path.join(config.paths.dataDir, 'jest-results.json');
  // A fresh checkout that uses a stack someone else started has no data folder yet.
  mkdirSync(config.paths.dataDir, { recursive: true });
  rmSync(results, { force: true });
  let code = 1;
  // The run's own temporary folder: whatever tests leave under os.tmpdir() (tempDir()'s
  // kpi-* folders, chDB's chdb-node-mem-* sessions) goes with it when jest ends.
  const runTmp = mkdtempSync(path.join(os.tmpdir(), 'kpi-test-run-'));
  const cache = extraArgs.some((arg) => /^--cache-?[dD]irectory\b/.test(arg)) ? [] : [`--cacheDirectory=${jestCacheDirectory()}`];
  try {
    say('▶ jest (unit, integration)');
    const jest = spawnSync(
      process.execPath,
      [
        '--experimental-vm-modules',
        '--no-warnings=ExperimentalWarning',
        path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
        '--maxWorkers=2',
        '--json',
        `--outputFile=${results}`,
        ...cache,
        ...extraArgs,
      ],
      { cwd: root, stdio: 'inherit', env: { ...process.env, TMPDIR: runTmp } },
    );
    code = jest.status ?? 1;
  } finally {
    try {
      rmSync(runTmp, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      say(`could not remove ${runTmp}: ${describeError(err)}`);
    }
    if (up.started.length > 0) {
      say('▶ stopping the services this run started');
      await stackDown(config, (line) => say(`  ${line}`), up.started);
    }
  }
  try {
    const summary = JSON.parse(readFileSync(results, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number };
    if (summary.numPendingTests > 0) say(`${summary.numPendingTests} test(s) skipped: no test may be skipped.`);
    // The plain closing line: what passed and what failed, alone on the line.
    say(`${summary.numPassedTests} passed, ${summary.numFailedTests} failed`);
    if (summary.numPendingTests > 0) code = code || 1;
  } catch {
    say('jest wrote no results: the run did not complete.');
    code = code || 1;
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`npm test: ${describeError(err)}\n`);
    process.exit(1);
  },
);
