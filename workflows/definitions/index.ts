// The workflow bundle's entry: every workflow the worker hosts is exported here.
export { warehouseCountsWorkflow } from './warehouse-counts.js';
