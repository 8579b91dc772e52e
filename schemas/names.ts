/**
 * Names shared by producers, consumers, workers and SQL: topics, task queues and the
 * tables that code writes to. Versioned, so that an incompatible change gets a new name
 * instead of silently changing the meaning of an old one.
 */

/** The Temporal task queue that the worker polls and that clients start workflows on. */
export const TASK_QUEUE = 'kpi-pipeline.v1';

/** Topic of the stage-one round-trip demo (stack smoke test). */
export const DEMO_TOPIC = 'kpi.demo.round-trip.v1';

/** Table the round-trip demo writes its consumed messages to. */
export const DEMO_TABLE = 'demo_round_trip';

/** Consumer group of the ingest service: offsets committed here mark what is stored. */
export const INGEST_GROUP = 'kpi-ingest.v1';
