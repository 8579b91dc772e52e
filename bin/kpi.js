#!/usr/bin/env node
// The `kpi` command. Sources are TypeScript; tsx compiles them on load.
import { register } from 'tsx/esm/api';

register();
await import('../services/cli/main.ts');
