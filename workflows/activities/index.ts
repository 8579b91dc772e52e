import { createCloseActivities, type CloseDeps } from './close.js';
import { createWarehouseActivities, type WarehouseDeps } from './warehouse.js';

export type ActivityDeps = WarehouseDeps & CloseDeps;

/** Every activity the worker hosts, bound to real or recorded dependencies. */
export function createActivities(deps: ActivityDeps) {
  return { ...createWarehouseActivities(deps), ...createCloseActivities(deps) };
}
