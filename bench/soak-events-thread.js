// The event source thread of bench:soak (see soak-events.ts). Sources are TypeScript; tsx
// compiles them on load, as for bin/kpi.js.
import { register } from 'tsx/esm/api';

register();
await import('./soak-events.ts');
