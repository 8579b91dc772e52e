// A decoding thread of ingest (see decode-pool.ts). Under dist/ its compiled sibling is
// loaded as it is; from the sources, tsx compiles them on load, as for bin/kpi.js.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

if (existsSync(new URL('./decode-worker.js', import.meta.url))) {
  await import(new URL('./decode-worker.js', import.meta.url).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./decode-worker.ts');
}
