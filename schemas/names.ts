/**
 * Names shared by producers, consumers, workers and SQL: topics, task queues and the
 * tables that code writes to. Versioned, so that an incompatible change gets a new name
 * instead of silently changing the meaning of an old one.
 */

/** The Temporal task queue that the worker polls and that clients start workflows on. */
export const TASK_QUEUE = 'kpi-pipeline.v1';

/** Consumer group of the ingest service: offsets committed here mark what is stored. */
export const INGEST_GROUP = 'kpi-ingest.v1';
