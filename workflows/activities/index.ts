import { createWarehouseActivities, type WarehouseDeps } from './warehouse.js';

export type ActivityDeps = WarehouseDeps;

/** Every activity the worker hosts, bound to real or recorded dependencies. */
export function createActivities(deps: ActivityDeps) {
  return { ...createWarehouseActivities(deps) };
}
