// Installs npm dependencies when they are missing or older than package-lock.json, so
// that `npm run demo` and `npm test` work on a fresh clone without a separate install;
// then compiles the sources into dist/ when they changed since the last build, so `kpi`
// starts from JavaScript (scripts/build.js).
// `npm install --no-save` rather than `npm ci`: chDB lists an optional engine package per
// platform and the lock holds only those the registry served, which `npm ci` refuses as
// out of sync; install still follows the lock for everything it holds.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const marker = path.join(root, 'node_modules', '.package-lock.json');
const lock = path.join(root, 'package-lock.json');
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  console.error('Installing npm dependencies (npm install --no-save)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['install', '--no-save', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const { buildIfStale } = await import('./build.js');
await buildIfStale(root);
