import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { EnvSchema, loadConfig } from '../../../services/shared/config.js';

// No Docker engine runs here, so docker-compose.yml is checked by reading it: every
// property below is one that `docker compose up` would otherwise find out the hard way.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const COMPOSE_PATH = path.join(ROOT, 'docker-compose.yml');
const DATASOURCE_PATH = path.join(ROOT, 'infra/grafana/provisioning/datasources/clickhouse.yaml');
const DASHBOARD_PROVIDER_PATH = path.join(ROOT, 'infra/grafana/provisioning/dashboards/kpi.yaml');
const ACCESS_PATH = path.join(ROOT, 'infra/clickhouse/access.sql');
const PROMETHEUS_CONFIG_PATH = path.join(ROOT, 'infra/prometheus/prometheus.yml');
const PROMETHEUS_DATASOURCE_PATH = path.join(ROOT, 'infra/grafana/provisioning/datasources/prometheus.yaml');

/**
 * What the person running `docker compose` sets: every secret, none with a default in the
 * file. Values differ from each other so a test can tell which one reached where.
 */
const HOST_ENV: Record<string, string> = {
  CLICKHOUSE_PASSWORD: 'admin-pw-from-env',
  CLICKHOUSE_READER_PASSWORD: 'reader-pw-from-env',
  TEMPORAL_DB_PASSWORD: 'temporal-pw-from-env',
  GRAFANA_ADMIN_PASSWORD: 'grafana-pw-from-env',
  KPI_BOOTSTRAP_TOKEN: `kpi_abcdefghijkl_${'A'.repeat(43)}`,
  KPI_METRICS_TOKEN: `metrics-token-from-env-${'m'.repeat(20)}`,
};
/** Environment keys whose values are secrets (files holding one are paths, not secrets). */
const SECRET_KEY = /PASSWORD|PASSWD|_PWD$|SECRET|TOKEN$/;

const INFRA_SERVICES = ['kafka', 'clickhouse', 'temporal-db', 'temporal', 'temporal-ui', 'prometheus', 'grafana'] as const;
const KPI_SERVICES = ['kpi-migrate', 'kpi-ingest', 'kpi-worker', 'kpi-api'] as const;
/** Runs once and exits; a healthcheck would never pass. */
const ONE_SHOT = 'kpi-migrate';
/** The kpi services that keep running, each serving /metrics on its API port. */
const SCRAPED = KPI_SERVICES.filter((name) => name !== ONE_SHOT);
/** Where Compose mounts the metrics token secret (/run/secrets/<name>). */
const METRICS_TOKEN_FILE = '/run/secrets/kpi_metrics_token';

// The subset of the Compose specification these tests read.
const PortSpec = z.union([
  z.string(),
  z.number(),
  z.object({
    target: z.coerce.number(),
    published: z.union([z.string(), z.number()]).optional(),
    host_ip: z.string().optional(),
    protocol: z.string().optional(),
  }),
]);
const VolumeSpec = z.union([z.string(), z.object({ type: z.string().optional(), source: z.string().optional(), target: z.string() })]);
const Condition = z.enum(['service_started', 'service_healthy', 'service_completed_successfully']);
const Service = z.object({
  image: z.string().optional(),
  build: z.union([z.string(), z.object({ context: z.string().default('.'), dockerfile: z.string().default('Dockerfile') })]).optional(),
  command: z.union([z.string(), z.array(z.string())]).optional(),
  restart: z.string().optional(),
  secrets: z.array(z.union([z.string(), z.object({ source: z.string(), target: z.string().optional() })])).optional(),
  environment: z
    .union([z.array(z.string()), z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))])
    .optional(),
  ports: z.array(PortSpec).optional(),
  volumes: z.array(VolumeSpec).optional(),
  depends_on: z
    .union([z.array(z.string()), z.record(z.string(), z.object({ condition: Condition.default('service_started') }))])
    .optional(),
  healthcheck: z.object({ test: z.union([z.string(), z.array(z.string()).min(1)]), disable: z.boolean().optional() }).optional(),
});
type Service = z.infer<typeof Service>;
const ComposeFile = z.object({
  services: z.record(z.string(), Service),
  volumes: z.record(z.string(), z.unknown()).optional(),
  secrets: z.record(z.string(), z.object({ environment: z.string().optional(), file: z.string().optional(), external: z.boolean().optional() })).optional(),
});
type ComposeFile = z.infer<typeof ComposeFile>;

const DatasourceFile = z.object({
  apiVersion: z.literal(1),
  datasources: z
    .array(
      z.object({
        name: z.string().min(1),
        type: z.string(),
        uid: z.string(),
        jsonData: z.record(z.string(), z.unknown()),
        secureJsonData: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1),
});
/** The subset of Prometheus's configuration these tests read. */
const PrometheusConfig = z.object({
  global: z.object({ scrape_interval: z.string().optional() }).optional(),
  scrape_configs: z
    .array(
      z
        .object({
          job_name: z.string(),
          metrics_path: z.string().optional(),
          scheme: z.string().optional(),
          authorization: z.object({ type: z.string().optional(), credentials: z.string().optional(), credentials_file: z.string().optional() }).strict().optional(),
          static_configs: z.array(z.object({ targets: z.array(z.string()).min(1) })).min(1),
        })
        .strict(),
    )
    .min(1),
});
const DashboardProviderFile = z.object({
  apiVersion: z.literal(1),
  providers: z.array(z.object({ name: z.string(), type: z.literal('file'), folder: z.string(), options: z.object({ path: z.string() }) })).min(1),
});

/**
 * Compose's interpolation of one value: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`.
 */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$(?:(\$)|\{([A-Za-z_]\w*)(?:(:?)([-?+])([^}]*))?\}|([A-Za-z_]\w*))/g, (...m: (string | undefined)[]) => {
    const [, dollar, braced, colon, op, arg = '', bare] = m;
    if (dollar !== undefined) return '$';
    const name = braced ?? bare ?? '';
    const value = env[name];
    const missing = value === undefined || (colon === ':' && value === '');
    if (op === '-') return missing ? arg : (value ?? '');
    if (op === '?') {
      if (missing) throw new Error(`docker compose: required variable ${name} is missing a value: ${arg}`);
      return value ?? '';
    }
    if (op === '+') return missing ? '' : arg;
    return value ?? '';
  });
}

function interpolateAll(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)]));
  return value;
}

/** The file as `docker compose config` sees it, with the host's environment `env`. */
function readCompose(env: Record<string, string> = HOST_ENV): ComposeFile {
  return ComposeFile.parse(interpolateAll(parse(readFileSync(COMPOSE_PATH, 'utf8'), { merge: true }), env));
}

/** The file before interpolation, as written. */
function readRawCompose(): ComposeFile {
  return ComposeFile.parse(parse(readFileSync(COMPOSE_PATH, 'utf8'), { merge: true }));
}

/** Grafana's expansion of `$VAR` and `${VAR}` in provisioning files. */
function grafanaExpand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_match, braced: string | undefined, bare: string | undefined) => env[braced ?? bare ?? ''] ?? '');
}

function serviceOf(compose: ComposeFile, name: string): Service {
  const service = compose.services[name];
  if (!service) throw new Error(`docker-compose.yml has no service ${name}`);
  return service;
}

/** Compose accepts a map or a KEY=VALUE list; both become a map of strings. */
function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]));
}

function dependenciesOf(service: Service): Record<string, z.infer<typeof Condition>> {
  const deps = service.depends_on ?? [];
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started' as const]));
  return Object.fromEntries(Object.entries(deps).map(([name, dep]) => [name, dep.condition]));
}

interface PublishedPort {
  hostPort: number;
  containerPort: number;
  protocol: string;
}

/** Host-side ports of `[ip:]host:container[/protocol]` or the long syntax; unpublished ones are skipped. */
function publishedPorts(service: Service): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const spec of service.ports ?? []) {
    if (typeof spec === 'number') continue;
    if (typeof spec === 'string') {
      const [mapping = '', protocol = 'tcp'] = spec.split('/');
      const parts = mapping.split(':');
      if (parts.length < 2) continue;
      const hostPort = Number(parts[parts.length - 2]);
      const containerPort = Number(parts[parts.length - 1]);
      if (!Number.isInteger(hostPort) || !Number.isInteger(containerPort)) throw new Error(`unsupported port spec ${spec}`);
      out.push({ hostPort, containerPort, protocol });
    } else if (spec.published !== undefined) {
      out.push({ hostPort: Number(spec.published), containerPort: spec.target, protocol: spec.protocol ?? 'tcp' });
    }
  }
  return out;
}

/** `host:port` → its parts; the port as a number. */
function hostAndPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

describe('docker-compose.yml', () => {
  const compose = readCompose();

  it('shares one environment through a YAML anchor that resolves with merge keys', () => {
    const text = readFileSync(COMPOSE_PATH, 'utf8');
    expect(text).toMatch(/^x-kpi-env: &kpi-env$/m);
    // Without merge support the anchor stays a literal `<<` key: proof the services use it.
    const raw = z
      .object({ services: z.record(z.string(), z.object({ environment: z.record(z.string(), z.unknown()).optional() })) })
      .parse(parse(text, { merge: false }));
    for (const name of KPI_SERVICES) {
      expect(Object.keys(raw.services[name]?.environment ?? {})).toContain('<<');
      expect(Object.keys(environmentOf(serviceOf(compose, name)))).not.toContain('<<');
    }
  });

  it('defines every service of the stack', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...INFRA_SERVICES, ...KPI_SERVICES].sort());
  });

  it.each([...INFRA_SERVICES])('%s runs a pinned official image', (name) => {
    const { image, build } = serviceOf(compose, name);
    expect(build).toBeUndefined();
    // A version tag, never latest; Prometheus's tags start with v (v3.5.0).
    expect(image).toMatch(/^[a-z0-9][a-z0-9/._-]*:v?[0-9][0-9A-Za-z.-]*$/);
  });

  it('builds every kpi-* service from the root Dockerfile as one image', () => {
    const images = new Set(KPI_SERVICES.map((name) => serviceOf(compose, name).image));
    expect(images.size).toBe(1);
    for (const name of KPI_SERVICES) {
      const { build } = serviceOf(compose, name);
      const context = typeof build === 'string' ? build : build?.context;
      const dockerfile = typeof build === 'string' ? 'Dockerfile' : (build?.dockerfile ?? 'Dockerfile');
      expect(context).toBe('.');
      expect(existsSync(path.join(ROOT, context ?? '', dockerfile))).toBe(true);
    }
  });

  it('runs the kpi command named after each kpi-* service', () => {
    for (const name of KPI_SERVICES) {
      expect(serviceOf(compose, name).command).toEqual([name.replace(/^kpi-/, '')]);
    }
  });

  it.each([...INFRA_SERVICES, ...KPI_SERVICES].filter((name) => name !== ONE_SHOT))('%s has a healthcheck', (name) => {
    const { healthcheck } = serviceOf(compose, name);
    expect(healthcheck).toBeDefined();
    expect(healthcheck?.disable).not.toBe(true);
    const test = healthcheck?.test ?? [];
    expect(Array.isArray(test) ? test[0] : 'CMD-SHELL').toMatch(/^CMD(-SHELL)?$/);
    expect(Array.isArray(test) ? test.length : test.trim().length).toBeGreaterThan(1);
  });

  it('runs kpi-migrate once: no healthcheck, no restart', () => {
    const migrate = serviceOf(compose, ONE_SHOT);
    expect(migrate.healthcheck).toBeUndefined();
    expect(migrate.restart).toBe('no');
  });

  describe.each([...KPI_SERVICES])('%s environment', (name) => {
    const env = environmentOf(serviceOf(compose, name));
    const raw = serviceOf(compose, name).environment;

    it('uses only variables that EnvSchema knows, as strings', () => {
      const known = new Set(Object.keys(EnvSchema.shape));
      expect(Object.keys(env).filter((key) => !known.has(key))).toEqual([]);
      expect(Array.isArray(raw) ? [] : Object.entries(raw ?? {}).filter(([, value]) => typeof value !== 'string')).toEqual([]);
    });

    it('passes loadConfig and points at the services of this file', () => {
      const config = loadConfig(env);
      const clickhouse = environmentOf(serviceOf(compose, 'clickhouse'));
      const grafana = environmentOf(serviceOf(compose, 'grafana'));
      expect(config.clickhouse).toEqual({
        mode: 'server',
        url: 'http://clickhouse:8123',
        user: clickhouse['CLICKHOUSE_USER'],
        password: HOST_ENV['CLICKHOUSE_PASSWORD'],
        database: clickhouse['CLICKHOUSE_DB'],
        // Only kpi-migrate makes the reader user, as the user Grafana logs in with.
        ...(name === ONE_SHOT ? { reader: { user: grafana['CLICKHOUSE_READER_USER'], password: grafana['CLICKHOUSE_READER_PASSWORD'] } } : {}),
      });
      expect(clickhouse['CLICKHOUSE_PASSWORD']).toBe(HOST_ENV['CLICKHOUSE_PASSWORD']);
      // Brokers must be addresses Kafka advertises under a service name: from inside a
      // container, the host listener's localhost is the container itself.
      const advertised = (environmentOf(serviceOf(compose, 'kafka'))['KAFKA_ADVERTISED_LISTENERS'] ?? '')
        .split(',')
        .map((listener) => listener.replace(/^[A-Z_]+:\/\//, ''))
        .filter((address) => compose.services[hostAndPort(address).host] !== undefined);
      expect(config.kafka.brokers.length).toBeGreaterThan(0);
      for (const broker of config.kafka.brokers) expect(advertised).toContain(broker);
      const temporal = hostAndPort(config.temporal.address);
      expect(temporal.host).toBe('temporal');
      expect(publishedPorts(serviceOf(compose, 'temporal')).map((p) => p.containerPort)).toContain(temporal.port);
      expect(config.temporal.namespace).toBe('default');
      expect(config.business.timeZone).toBe('Asia/Shanghai');
      expect(config.logLevel).toBe('info');
      // The services Prometheus scrapes accept its token; kpi-migrate serves no /metrics.
      expect(config.api.metricsToken).toBe((SCRAPED as readonly string[]).includes(name) ? HOST_ENV['KPI_METRICS_TOKEN'] : undefined);
    });
  });

  it('takes every secret from the environment, with no default', () => {
    const raw = readRawCompose();
    const secretEntries = Object.entries(raw.services).flatMap(([name, service]) =>
      Object.entries(environmentOf(service))
        .filter(([key]) => SECRET_KEY.test(key))
        .map(([key, value]) => ({ service: name, key, value })),
    );
    expect(secretEntries.map((e) => `${e.service}.${e.key}`)).toEqual(
      expect.arrayContaining(['clickhouse.CLICKHOUSE_PASSWORD', 'temporal-db.POSTGRES_PASSWORD', 'temporal.POSTGRES_PWD', 'grafana.GF_SECURITY_ADMIN_PASSWORD', 'grafana.CLICKHOUSE_READER_PASSWORD', 'kpi-migrate.CLICKHOUSE_PASSWORD', 'kpi-migrate.CLICKHOUSE_READER_PASSWORD', ...SCRAPED.map((name) => `${name}.KPI_METRICS_TOKEN`)]),
    );
    for (const entry of secretEntries) {
      // `${NAME:?message}`: Compose refuses to start without it; never a literal, never `:-default`.
      expect({ ...entry, required: /^\$\{[A-Z_][A-Z0-9_]*:\?[^}]+\}$/.test(entry.value) }).toEqual({ ...entry, required: true });
    }
    const text = readFileSync(COMPOSE_PATH, 'utf8');
    expect(text).not.toMatch(/\$\{\w*(PASSWORD|PASSWD|PWD|SECRET|TOKEN)\w*:?[-+]/);
    // Each variable the file needs is needed: without it, nothing starts.
    for (const name of Object.keys(HOST_ENV).filter((key) => key !== 'KPI_BOOTSTRAP_TOKEN')) {
      const without = Object.fromEntries(Object.entries(HOST_ENV).filter(([key]) => key !== name));
      expect(() => readCompose(without)).toThrow(new RegExp(`required variable ${name} `));
    }
  });

  it('hands the first admin token to the kpi services as a Docker secret, not as an environment variable', () => {
    const secrets = compose.secrets ?? {};
    expect(secrets['kpi_bootstrap_token']).toEqual({ environment: 'KPI_BOOTSTRAP_TOKEN' });
    for (const name of KPI_SERVICES) {
      const service = serviceOf(compose, name);
      const env = environmentOf(service);
      expect(service.secrets).toContain('kpi_bootstrap_token');
      expect(service.secrets).not.toContain('kpi_metrics_token');
      // Compose mounts a secret at /run/secrets/<name> unless a target says otherwise.
      expect(env['KPI_BOOTSTRAP_TOKEN_FILE']).toBe('/run/secrets/kpi_bootstrap_token');
      expect(Object.values(env)).not.toContain(HOST_ENV['KPI_BOOTSTRAP_TOKEN']);
      expect(env['KPI_API_ALLOWED_HOSTS']).toBe('*');
    }
    // Outside the kpi services, only Prometheus holds a secret: the metrics token.
    for (const [name, service] of Object.entries(compose.services)) {
      if (!(KPI_SERVICES as readonly string[]).includes(name)) expect({ name, secrets: service.secrets }).toEqual({ name, secrets: name === 'prometheus' ? ['kpi_metrics_token'] : undefined });
    }
  });

  it('gives the reader password to kpi-migrate and Grafana only', () => {
    const holders = Object.entries(compose.services)
      .filter(([, service]) => Object.values(environmentOf(service)).includes(HOST_ENV['CLICKHOUSE_READER_PASSWORD'] ?? '?'))
      .map(([name]) => name);
    expect(holders.sort()).toEqual(['grafana', 'kpi-migrate']);
  });

  it('bind-mounts only host paths that exist and declares every named volume', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    let bindMounts = 0;
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? (volume.split(':')[0] ?? '') : (volume.source ?? '');
        if (source.startsWith('./') || source.startsWith('../')) {
          bindMounts += 1;
          expect({ service: name, source, exists: existsSync(path.join(ROOT, source)) }).toEqual({ service: name, source, exists: true });
        } else if (!path.isAbsolute(source)) {
          expect({ service: name, volume: source, declared: declared.has(source) }).toEqual({ service: name, volume: source, declared: true });
        }
      }
    }
    expect(bindMounts).toBeGreaterThanOrEqual(2);
  });

  it('mounts the Grafana provisioning and dashboards folders', () => {
    const volumes = serviceOf(compose, 'grafana').volumes ?? [];
    expect(volumes).toEqual(
      expect.arrayContaining(['./infra/grafana/provisioning:/etc/grafana/provisioning:ro', './infra/grafana/dashboards:/var/lib/grafana/dashboards:ro']),
    );
    expect(statSync(path.join(ROOT, 'infra/grafana/provisioning')).isDirectory()).toBe(true);
    expect(statSync(path.join(ROOT, 'infra/grafana/dashboards')).isDirectory()).toBe(true);
  });

  it('depends only on defined services, in states they can reach', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dependency, condition] of Object.entries(dependenciesOf(service))) {
        const target = compose.services[dependency];
        expect({ service: name, dependency, defined: target !== undefined && dependency !== name }).toEqual({ service: name, dependency, defined: true });
        if (condition === 'service_healthy') {
          expect({ service: name, dependency, healthcheck: target?.healthcheck !== undefined }).toEqual({ service: name, dependency, healthcheck: true });
        }
        if (condition === 'service_completed_successfully') {
          // A service that restarts forever never completes.
          expect({ service: name, dependency, restart: target?.restart ?? 'no' }).toEqual({ service: name, dependency, restart: 'no' });
        }
      }
    }
  });

  it('starts ingest, worker and api after migrations and healthy Kafka and Temporal', () => {
    for (const name of ['kpi-ingest', 'kpi-worker', 'kpi-api']) {
      expect(dependenciesOf(serviceOf(compose, name))).toEqual({
        'kpi-migrate': 'service_completed_successfully',
        kafka: 'service_healthy',
        temporal: 'service_healthy',
      });
    }
    expect(dependenciesOf(serviceOf(compose, 'kpi-migrate'))).toEqual({ clickhouse: 'service_healthy' });
  });

  it('publishes each host port once and lists it in the header comment', () => {
    const all = Object.values(compose.services).flatMap(publishedPorts);
    const keys = all.map((p) => `${p.hostPort}/${p.protocol}`);
    expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
    expect(all.map((p) => p.hostPort).sort((a, b) => a - b)).toEqual([3000, 7233, 8080, 8123, 8233, 9000, 9090, 9092]);
    const text = readFileSync(COMPOSE_PATH, 'utf8');
    const header = text.slice(0, text.search(/^name:/m));
    for (const { hostPort } of all) expect(header).toMatch(new RegExp(`^#\\s+${hostPort}\\s+\\S`, 'm'));
  });
});

describe('Prometheus', () => {
  const compose = readCompose();
  const prometheus = serviceOf(compose, 'prometheus');
  const config = PrometheusConfig.parse(parse(readFileSync(PROMETHEUS_CONFIG_PATH, 'utf8')));

  it('reads its configuration from infra/prometheus at the path the image starts with', () => {
    // prom/prometheus runs --config.file=/etc/prometheus/prometheus.yml unless told otherwise.
    expect(prometheus.command).toBeUndefined();
    expect(prometheus.volumes).toEqual(expect.arrayContaining(['./infra/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro', 'prometheus-data:/prometheus']));
  });

  it('scrapes each long-running kpi service on its API port, one job per service', () => {
    const jobs = config.scrape_configs.map((job) => ({ job: job.job_name, targets: job.static_configs.flatMap((c) => c.targets) }));
    const expected = SCRAPED.map((name) => {
      const api = loadConfig(environmentOf(serviceOf(compose, name))).api;
      // Reachable from another container only when listening on every interface.
      expect({ name, host: api.host }).toEqual({ name, host: '0.0.0.0' });
      return { job: name, targets: [`${name}:${api.port}`] };
    });
    expect(jobs).toEqual(expected);
    for (const job of config.scrape_configs) {
      expect(job.metrics_path ?? '/metrics').toBe('/metrics');
      expect(job.scheme ?? 'http').toBe('http');
    }
  });

  it('presents the metrics token from a Docker secret, never written in a file of the repo', () => {
    expect(compose.secrets?.['kpi_metrics_token']).toEqual({ environment: 'KPI_METRICS_TOKEN' });
    expect(prometheus.secrets).toEqual(['kpi_metrics_token']);
    for (const job of config.scrape_configs) {
      expect({ job: job.job_name, authorization: job.authorization }).toEqual({ job: job.job_name, authorization: { type: 'Bearer', credentials_file: METRICS_TOKEN_FILE } });
    }
    // The services accept the very token Prometheus presents.
    for (const name of SCRAPED) expect(environmentOf(serviceOf(compose, name))['KPI_METRICS_TOKEN']).toBe(HOST_ENV['KPI_METRICS_TOKEN']);
    expect(Object.values(environmentOf(prometheus))).not.toContain(HOST_ENV['KPI_METRICS_TOKEN']);
    const text = readFileSync(PROMETHEUS_CONFIG_PATH, 'utf8');
    for (const secret of Object.values(HOST_ENV)) expect(text).not.toContain(secret);
  });

  it('is the datasource Grafana provisions, and Grafana waits for it', () => {
    const file = z
      .object({ datasources: z.array(z.object({ type: z.string(), url: z.string(), jsonData: z.object({ timeInterval: z.string().optional() }).optional() })) })
      .parse(parse(readFileSync(PROMETHEUS_DATASOURCE_PATH, 'utf8')));
    const datasource = file.datasources.find((d) => d.type === 'prometheus');
    const url = new URL(datasource?.url ?? '');
    expect(url.hostname).toBe('prometheus');
    expect(publishedPorts(prometheus).map((p) => p.containerPort)).toContain(Number(url.port));
    // Grafana's step floor is the scrape interval.
    expect(datasource?.jsonData?.timeInterval).toBe(config.global?.scrape_interval);
    expect(dependenciesOf(serviceOf(compose, 'grafana'))).toMatchObject({ prometheus: 'service_healthy' });
  });
});

describe('Grafana provisioning', () => {
  const compose = readCompose();
  const clickhouse = environmentOf(serviceOf(compose, 'clickhouse'));

  it('provisions the ClickHouse datasource that dashboards refer to', () => {
    const file = DatasourceFile.parse(parse(readFileSync(DATASOURCE_PATH, 'utf8')));
    const datasource = file.datasources.find((d) => d.uid === 'kpi-clickhouse');
    expect(datasource?.type).toBe('grafana-clickhouse-datasource');
    expect(datasource?.jsonData).toMatchObject({
      host: 'clickhouse',
      port: 8123,
      protocol: 'http',
      defaultDatabase: clickhouse['CLICKHOUSE_DB'],
    });
    // The port Grafana dials is ClickHouse's HTTP port inside the network.
    expect(publishedPorts(serviceOf(compose, 'clickhouse')).map((p) => p.containerPort)).toContain(8123);
  });

  it('connects Grafana as the read-only reader user that kpi-migrate makes, never as kpi or admin', () => {
    const text = readFileSync(DATASOURCE_PATH, 'utf8');
    const file = DatasourceFile.parse(parse(text));
    const datasource = file.datasources.find((d) => d.uid === 'kpi-clickhouse');
    const grafana = environmentOf(serviceOf(compose, 'grafana'));
    const migrate = loadConfig(environmentOf(serviceOf(compose, ONE_SHOT))).clickhouse;
    const reader = migrate.mode === 'server' ? migrate.reader : undefined;
    expect(reader).toEqual({ user: 'kpi_reader_user', password: HOST_ENV['CLICKHOUSE_READER_PASSWORD'] });

    const username = grafanaExpand(String(datasource?.jsonData['username']), grafana);
    const password = grafanaExpand(String(datasource?.secureJsonData?.['password']), grafana);
    expect({ user: username, password }).toEqual(reader);
    expect([clickhouse['CLICKHOUSE_USER'], 'default', 'admin']).not.toContain(username);
    expect(password).not.toBe(HOST_ENV['CLICKHOUSE_PASSWORD']);
    // No credential is written into the file itself.
    for (const secret of Object.values(HOST_ENV)) expect(text).not.toContain(secret);
    expect(dependenciesOf(serviceOf(compose, 'grafana'))).toMatchObject({ [ONE_SHOT]: 'service_completed_successfully' });
  });

  it('keeps the plugin’s query timeout within what the reader’s settings profile allows', () => {
    const file = DatasourceFile.parse(parse(readFileSync(DATASOURCE_PATH, 'utf8')));
    const timeout = Number(file.datasources.find((d) => d.uid === 'kpi-clickhouse')?.jsonData['queryTimeout']);
    const allowed = Number(/max_execution_time = \d+ MIN \d+ MAX (\d+)/.exec(readFileSync(ACCESS_PATH, 'utf8'))?.[1]);
    expect(timeout).toBeGreaterThan(0);
    expect(timeout).toBeLessThanOrEqual(allowed);
  });

  it('installs the plugin the datasource needs', () => {
    const grafana = environmentOf(serviceOf(compose, 'grafana'));
    const plugins = (grafana['GF_PLUGINS_PREINSTALL_SYNC'] ?? grafana['GF_INSTALL_PLUGINS'] ?? '').split(',').map((p) => p.trim().split('@')[0]);
    expect(plugins).toContain('grafana-clickhouse-datasource');
  });

  it('loads dashboards from the folder docker-compose.yml mounts', () => {
    const file = DashboardProviderFile.parse(parse(readFileSync(DASHBOARD_PROVIDER_PATH, 'utf8')));
    expect(file.providers).toEqual([expect.objectContaining({ folder: 'KPI', options: { path: '/var/lib/grafana/dashboards' } })]);
    const targets = (serviceOf(compose, 'grafana').volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1] : v.target));
    expect(targets).toContain(file.providers[0]?.options.path);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

  it('runs the kpi command as a non-root user', () => {
    const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
    expect(entrypoint).toBeDefined();
    const argv = z.array(z.string()).parse(JSON.parse(entrypoint ?? '[]'));
    expect(argv).toEqual(['node', 'bin/kpi.js']);
    expect(existsSync(path.join(ROOT, argv[1] ?? ''))).toBe(true);
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toMatch(/^(root|0)$/);
  });

  it('keeps local data, tools and dependencies out of the build context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.data', '.tools', 'dist', '.git', 'scratch', 'coverage']));
  });
});
