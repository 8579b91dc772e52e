#!/usr/bin/env node
// The `kpi` command. It runs the compiled files in dist/ while they are as new as the
// TypeScript sources (scripts/build.js makes them; ensure-deps rebuilds them when stale),
// and otherwise compiles the sources on load with tsx: slower to start, never out of date.
import { isFresh } from '../scripts/build.js';

if (isFresh()) {
  await import('../dist/services/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../services/cli/main.ts');
}
