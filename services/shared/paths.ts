import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root: two levels above services/shared, wherever the code runs from. */
export function projectRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Compiled code runs from dist/services/shared, sources from services/shared.
  const up = path.resolve(here, '..', '..');
  return path.basename(up) === 'dist' ? path.dirname(up) : up;
}
