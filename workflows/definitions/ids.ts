import type { Grain } from '../../schemas/calendar/index.js';

// Workflow ids are business keys: a second start of the same work is no second run. The
// prefix (KPI_WORKFLOW_ID_PREFIX) keeps deployments sharing one Temporal namespace apart.
export const closeWorkflowId = (prefix: string, grain: Grain, period: string): string => `${prefix}close:${grain}:${period}`;
export const restateWorkflowId = (prefix: string, grain: Grain, period: string): string => `${prefix}restate:${grain}:${period}`;
export const reviewWorkflowId = (prefix: string, quarter: string): string => `${prefix}review:quarter:${quarter}`;
