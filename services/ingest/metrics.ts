import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of the ingest service, on their own registry (served at /metrics). */
export function createIngestMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: 'kpi_' });
  return {
    registry,
    events: new Counter({ name: 'kpi_ingest_events_total', help: 'Valid events stored, by family', labelNames: ['family'], registers: [registry] }),
    deadLetters: new Counter({ name: 'kpi_ingest_dead_letters_total', help: 'Messages set aside, by reason code', labelNames: ['topic', 'reason'], registers: [registry] }),
    lag: new Gauge({ name: 'kpi_ingest_consumer_lag', help: 'Messages behind the partition high watermark after the last batch', labelNames: ['topic', 'partition'], registers: [registry] }),
    insertSeconds: new Histogram({
      name: 'kpi_ingest_insert_seconds',
      help: 'ClickHouse insert latency, seconds',
      labelNames: ['table'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'kpi_ingest_batch_messages',
      help: 'Messages per consumed batch',
      labelNames: ['topic'],
      buckets: [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000],
      registers: [registry],
    }),
    retries: new Counter({ name: 'kpi_ingest_retries_total', help: 'Retried writes while ClickHouse or Kafka was unavailable', labelNames: ['step'], registers: [registry] }),
    paused: new Gauge({ name: 'kpi_ingest_paused', help: '1 while ingest waits for ClickHouse or Kafka to come back', registers: [registry] }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
