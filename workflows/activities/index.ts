import { createRoundTripActivities, type RoundTripDeps } from './round-trip.js';

export type ActivityDeps = RoundTripDeps;

/** Every activity the worker hosts, bound to real or recorded dependencies. */
export function createActivities(deps: ActivityDeps) {
  return { ...createRoundTripActivities(deps) };
}
