// The workflow bundle's entry: every workflow the worker hosts is exported here.
export { warehouseCountsWorkflow } from './warehouse-counts.js';
export { closePeriodWorkflow } from './close-period.js';
export { restatePeriodWorkflow } from './restate-period.js';
export { quarterReviewWorkflow } from './quarter-review.js';
export { closeEndedPeriodWorkflow, refreshProvisionalWorkflow } from './scheduled.js';
