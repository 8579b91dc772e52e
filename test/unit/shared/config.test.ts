import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../support/env.js';
import { ConfigError } from '../../../services/shared/errors.js';
import { EnvSchema, loadConfig } from '../../../services/shared/config.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.kafka).toEqual({ brokers: ['127.0.0.1:9092'], clientId: 'kpi-pipeline', topicPrefix: '', ingestGroup: 'kpi-ingest.v1', decodeThreads: 1, topicPartitions: 6 });
    expect(config.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'kpi-pipeline.v1' });
    expect(config.clickhouse.mode).toBe('embedded');
    expect(config.clickhouse.database).toBe('kpi');
    expect(config.business).toEqual({ timeZone: 'Asia/Shanghai', fiscalYearStartMonth: 1, reportingCurrency: 'CNY' });
    expect(config.logLevel).toBe('info');
    expect(config.close).toEqual({ idPrefix: '', graceMs: 900_000, concurrency: 2, provisionalIntervalMs: 5_000, restateDebounceMs: 60_000, lateCheckMs: 30_000, scorecardsFile: undefined });
    expect(path.isAbsolute(config.paths.dataDir)).toBe(true);
    if (config.clickhouse.mode === 'embedded') expect(config.clickhouse.path).toBe(path.join(config.paths.dataDir, 'clickhouse'));
  });

  it('switches to server mode when CLICKHOUSE_URL is set', () => {
    const config = loadConfig({ CLICKHOUSE_URL: 'http://ch:8123', CLICKHOUSE_USER: 'kpi', CLICKHOUSE_PASSWORD: 'secret', CLICKHOUSE_DATABASE: 'ops' });
    expect(config.clickhouse).toEqual({ mode: 'server', url: 'http://ch:8123', user: 'kpi', password: 'secret', database: 'ops' });
  });

  it('names the ClickHouse cluster of a server, and none by default', () => {
    const server = { CLICKHOUSE_URL: 'http://ch:8123' };
    expect(loadConfig({ ...server, CLICKHOUSE_CLUSTER: 'kpi_cluster' }).clickhouse).toMatchObject({ mode: 'server', cluster: 'kpi_cluster' });
    expect(loadConfig(server).clickhouse).not.toHaveProperty('cluster');
    expect(loadConfig({ ...server, CLICKHOUSE_CLUSTER: '' }).clickhouse).not.toHaveProperty('cluster');
  });

  it.each(['1kpi', 'kpi-cluster', 'kpi; DROP TABLE x', "kpi'", '{cluster}'])('refuses the cluster name %j, naming CLICKHOUSE_CLUSTER', (name) => {
    expect(() => loadConfig({ CLICKHOUSE_URL: 'http://ch:8123', CLICKHOUSE_CLUSTER: name })).toThrow(/CLICKHOUSE_CLUSTER: expected letters, digits and _/);
  });

  it('refuses a cluster with the embedded store, which is one process', () => {
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: 'kpi' })).toThrow(ConfigError);
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: 'kpi' })).toThrow(/CLICKHOUSE_CLUSTER: needs a ClickHouse server \(CLICKHOUSE_URL\); the embedded store \(chDB\) is one process/);
  });

  it('refuses a close setting out of range, naming it', () => {
    expect(() => loadConfig({ KPI_CLOSE_CONCURRENCY: '0' })).toThrow(/KPI_CLOSE_CONCURRENCY: .*\(got "0"\)/);
    expect(() => loadConfig({ KPI_WORKFLOW_ID_PREFIX: 'a b' })).toThrow(/KPI_WORKFLOW_ID_PREFIX/);
  });

  it('takes the decoding threads of ingest as a whole number from 0 to 64, naming it otherwise', () => {
    expect(loadConfig({ KPI_INGEST_DECODE_THREADS: '0' }).kafka.decodeThreads).toBe(0);
    expect(loadConfig({ KPI_INGEST_DECODE_THREADS: '4' }).kafka.decodeThreads).toBe(4);
    for (const bad of ['-1', '65', '1.5', 'many']) expect(() => loadConfig({ KPI_INGEST_DECODE_THREADS: bad })).toThrow(new RegExp(`KPI_INGEST_DECODE_THREADS: .*\\(got "${bad.replace('.', '\\.')}"\\)`));
  });

  it('splits a broker list and trims spaces', () => {
    expect(loadConfig({ KAFKA_BROKERS: ' a:9092, b:9093 ,' }).kafka.brokers).toEqual(['a:9092', 'b:9093']);
  });

  it('reads the reporting currency', () => {
    expect(loadConfig({ KPI_REPORTING_CURRENCY: ' HKD ' }).business.reportingCurrency).toBe('HKD');
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ KPI_TIME_ZONE: '', LOG_LEVEL: '' }).business.timeZone).toBe('Asia/Shanghai');
  });

  it.each([
    ['KAFKA_BROKERS', 'localhost', 'host:port'],
    ['KPI_TIME_ZONE', 'Mars/Olympus_Mons', 'IANA time zone'],
    ['KPI_FISCAL_YEAR_START_MONTH', '13', 'KPI_FISCAL_YEAR_START_MONTH'],
    ['KPI_REPORTING_CURRENCY', 'XYZ', 'ISO 4217'],
    ['KPI_REPORTING_CURRENCY', 'cny', 'ISO 4217'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL'],
    ['CLICKHOUSE_URL', 'ftp://x', 'http'],
    ['CLICKHOUSE_DATABASE', 'kpi; DROP TABLE x', 'letters, digits and _'],
    ['KPI_STACK_KAFKA_PORT', '70000', 'KPI_STACK_KAFKA_PORT'],
    ['KPI_STACK_KAFKA_NODES', '0', 'KPI_STACK_KAFKA_NODES'],
    ['KPI_TOPIC_PARTITIONS', '2.5', 'KPI_TOPIC_PARTITIONS'],
  ])('rejects %s=%j with an error naming the variable', (name, value, fragment) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain(`${name}:`);
    expect(message).toContain(fragment);
    expect(message).toContain(JSON.stringify(value));
  });

  it('reports every wrong variable at once', () => {
    expect(() => loadConfig({ KAFKA_BROKERS: 'x', LOG_LEVEL: 'y' })).toThrow(/KAFKA_BROKERS[\s\S]*LOG_LEVEL/);
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ HOME: '/root', KPI_SOMETHING_ELSE: '!' })).not.toThrow();
  });

  it('documents every variable in the README', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const name of Object.keys(EnvSchema.shape)) expect(readme).toContain(`\`${name}\``);
  });
});
