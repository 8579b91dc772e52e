import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../services/shared/config.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * A fresh temporary folder, unique per call, under os.tmpdir(). `npm test` points TMPDIR at
 * a folder of its own run and removes it when jest ends; plain jest uses the system's.
 */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `kpi-${prefix}-`));
}

/**
 * The configuration integration tests run with: the local stack that `npm test` started,
 * and an embedded store of the test's own, so a test never touches the user's data.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, CHDB_PATH: tempDir('chdb'), ...overrides });
}

/** A name no other test or run uses: for topics, groups, task queues, workflow ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
