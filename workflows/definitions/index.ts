// The workflow bundle's entry: every workflow the worker hosts is exported here.
export { roundTripWorkflow } from './round-trip.js';
