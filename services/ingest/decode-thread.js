// A decoding thread of ingest (see decode-pool.ts). Sources are TypeScript; tsx compiles
// them on load, as for bin/kpi.js.
import { register } from 'tsx/esm/api';

register();
await import('./decode-worker.ts');
