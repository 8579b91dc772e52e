import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { EnvSchema, loadConfig } from '../../../services/shared/config.js';
import { topicReplication } from '../../../services/shared/kafka.js';

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

/** The profile of the clustered stack, and what it adds to the default one. */
const CLUSTER_PROFILE = 'cluster';
const CLUSTER_KEEPERS = ['clickhouse-keeper'] as const;
/** In shard order: the first is shard 01. */
const CLUSTER_CLICKHOUSE = ['clickhouse-01', 'clickhouse-02'] as const;
const CLUSTER_KAFKA = ['kafka-1', 'kafka-2', 'kafka-3'] as const;
const CLUSTER_MIGRATE = 'kpi-cluster-migrate';
const CLUSTER_INGEST = ['kpi-cluster-ingest-1', 'kpi-cluster-ingest-2'] as const;
const CLUSTER_WORKERS = ['kpi-cluster-worker-1', 'kpi-cluster-worker-2'] as const;
/** Makes the cluster's namespace on the shared Temporal, then exits. */
const CLUSTER_NAMESPACE = 'temporal-cluster-namespace';
const CLUSTER_KPI_SERVICES = [CLUSTER_MIGRATE, ...CLUSTER_INGEST, ...CLUSTER_WORKERS] as const;
const CLUSTER_INFRA_SERVICES = [...CLUSTER_KEEPERS, ...CLUSTER_CLICKHOUSE, ...CLUSTER_KAFKA, CLUSTER_NAMESPACE] as const;
const CLUSTER_ONE_SHOTS: readonly string[] = [CLUSTER_MIGRATE, CLUSTER_NAMESPACE];
/** Where the cluster's ClickHouse nodes and Keeper read the files of infra/clickhouse/cluster. */
const CLUSTER_CONFIG_TARGET = '/etc/clickhouse-server/config.d/cluster.xml';
const MACROS_TARGET = '/etc/clickhouse-server/config.d/macros.xml';
const PROFILES_TARGET = '/etc/clickhouse-server/users.d/cluster-profiles.xml';
const KEEPER_CONFIG_TARGET = '/etc/clickhouse-keeper/keeper_config.xml';

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
  profiles: z.array(z.string()).optional(),
  container_name: z.string().optional(),
  hostname: z.string().optional(),
  entrypoint: z.union([z.string(), z.array(z.string())]).optional(),
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

/**
 * The file as `docker compose config` sees it, with the host's environment `env` and the
 * `profiles` enabled: the services without a profile, and those with one of `profiles`.
 */
function readCompose(env: Record<string, string> = HOST_ENV, profiles: readonly string[] = []): ComposeFile {
  const file = ComposeFile.parse(interpolateAll(parse(readFileSync(COMPOSE_PATH, 'utf8'), { merge: true }), env));
  const enabled = Object.entries(file.services).filter(([, service]) => service.profiles === undefined || service.profiles.some((p) => profiles.includes(p)));
  return { ...file, services: Object.fromEntries(enabled) };
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

/** An element of the XML files under infra/: name, attributes, child elements, text. */
interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/**
 * Enough XML for ClickHouse's configuration files of this repository: a declaration,
 * comments, elements with double-quoted attributes, text. Anything else is an error, so a
 * file this cannot read fails the test rather than passing unread.
 */
function parseXml(text: string): XmlElement {
  const document: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const open: XmlElement[] = [document];
  const token = /<!--[\s\S]*?-->|<\?xml[^?]*\?>|<\/([\w.-]+)\s*>|<([\w.-]+)((?:\s+[\w.-]+\s*=\s*"[^"<&]*")*)\s*(\/?)>|([^<&]+)/gy;
  let at = 0;
  for (let m = token.exec(text); m !== null; m = token.exec(text)) {
    at = token.lastIndex;
    const [, closing, opening, attributes = '', selfClosing, chars] = m;
    const parent = open[open.length - 1];
    if (parent === undefined) throw new Error('XML: more closing tags than opening ones');
    if (closing !== undefined) {
      if (closing !== parent.name) throw new Error(`XML: </${closing}> closes <${parent.name}>`);
      open.pop();
    } else if (opening !== undefined) {
      const element: XmlElement = {
        name: opening,
        attributes: Object.fromEntries([...attributes.matchAll(/([\w.-]+)\s*=\s*"([^"]*)"/g)].map(([, key = '', value = '']) => [key, value])),
        children: [],
        text: '',
      };
      parent.children.push(element);
      if (selfClosing !== '/') open.push(element);
    } else if (chars !== undefined) {
      if (parent === document && chars.trim() !== '') throw new Error('XML: text outside the root element');
      parent.text += chars;
    }
  }
  if (at !== text.length) throw new Error(`XML: cannot read from offset ${at}: ${JSON.stringify(text.slice(at, at + 40))}`);
  if (open.length !== 1) throw new Error(`XML: <${open[open.length - 1]?.name ?? '?'}> is not closed`);
  const [root, ...more] = document.children;
  if (root === undefined || more.length > 0) throw new Error('XML: expected one root element');
  return root;
}

function xmlChildren(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((child) => child.name === name);
}

/** The one child element `name`; a missing or repeated one is an error. */
function xmlChild(element: XmlElement, name: string): XmlElement {
  const found = xmlChildren(element, name);
  if (found.length !== 1) throw new Error(`<${element.name}> has ${found.length} <${name}> elements, expected 1`);
  return found[0] as XmlElement;
}

/** The trimmed text of the element at `path` below `element`. */
function xmlText(element: XmlElement, ...path: string[]): string {
  return path.reduce(xmlChild, element).text.trim();
}

/** The host file mounted at `target` in a service (short volume syntax), read and parsed. */
function mountedXml(service: Service, target: string): { source: string; root: XmlElement } {
  const mounts = (service.volumes ?? []).filter((v): v is string => typeof v === 'string' && v.split(':')[1] === target);
  expect(mounts).toHaveLength(1);
  const source = (mounts[0] ?? '').split(':')[0] ?? '';
  expect(source.startsWith('./infra/')).toBe(true);
  return { source, root: parseXml(readFileSync(path.join(ROOT, source), 'utf8')) };
}

/** `NAME://host:port,…` → the listeners by name. */
function kafkaListeners(value: string | undefined): Record<string, { host: string; port: number }> {
  return Object.fromEntries(
    (value ?? '').split(',').map((listener) => {
      const m = /^([A-Z_]+):\/\/(.*)$/.exec(listener.trim());
      if (!m) throw new Error(`unreadable Kafka listener ${listener}`);
      return [m[1] ?? '', hostAndPort(m[2] ?? '')] as const;
    }),
  );
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

describe('docker-compose.yml, the cluster profile', () => {
  const defaults = readCompose();
  const compose = readCompose(HOST_ENV, [CLUSTER_PROFILE]);
  const added = Object.keys(compose.services).filter((name) => defaults.services[name] === undefined);
  const nodes = CLUSTER_CLICKHOUSE.map((name) => ({ name, service: serviceOf(compose, name) }));
  const brokers = CLUSTER_KAFKA.map((name) => ({ name, service: serviceOf(compose, name), env: environmentOf(serviceOf(compose, name)) }));
  const clusterXml = mountedXml(serviceOf(compose, 'clickhouse-01'), CLUSTER_CONFIG_TARGET).root;
  const keeperXml = mountedXml(serviceOf(compose, 'clickhouse-keeper'), KEEPER_CONFIG_TARGET).root;
  /** The clusters infra/clickhouse/cluster defines, by name: each shard's replicas. */
  const clusters = new Map(
    xmlChild(clusterXml, 'remote_servers').children.map((cluster) => [
      cluster.name,
      xmlChildren(cluster, 'shard').map((shard) => ({
        internalReplication: xmlText(shard, 'internal_replication'),
        replicas: xmlChildren(shard, 'replica').map((replica) => ({
          host: xmlText(replica, 'host'),
          port: Number(xmlText(replica, 'port')),
          user: xmlChild(replica, 'user'),
          password: xmlChild(replica, 'password'),
        })),
      })),
    ]),
  );
  const kpiShards = clusters.get('kpi') ?? [];

  /** A service of this profile answers to its name: Compose's DNS, and its own hostname. */
  function expectServiceHost(host: string): void {
    const service = compose.services[host];
    expect({ host, service: service !== undefined, hostname: service?.hostname }).toEqual({ host, service: true, hostname: host });
  }

  it('adds only services of the cluster profile and leaves the default stack as it was', () => {
    expect(added.sort()).toEqual([...CLUSTER_INFRA_SERVICES, ...CLUSTER_KPI_SERVICES].sort());
    for (const name of added) expect({ name, profiles: serviceOf(compose, name).profiles }).toEqual({ name, profiles: [CLUSTER_PROFILE] });
    // The default services have no profile, so `docker compose up` starts them as before,
    // and the profile changes none of them.
    for (const [name, service] of Object.entries(defaults.services)) {
      expect({ name, profiles: service.profiles }).toEqual({ name, profiles: undefined });
      expect(serviceOf(compose, name)).toEqual(service);
    }
  });

  it('runs the images of the default stack, and Keeper of the same ClickHouse release', () => {
    const clickhouse = serviceOf(compose, 'clickhouse').image ?? '';
    for (const { service } of nodes) expect(service.image).toBe(clickhouse);
    for (const { service } of brokers) expect(service.image).toBe(serviceOf(compose, 'kafka').image);
    expect(serviceOf(compose, CLUSTER_NAMESPACE).image).toBe(serviceOf(compose, 'temporal').image);
    const tag = clickhouse.slice(clickhouse.lastIndexOf(':') + 1);
    for (const name of CLUSTER_KEEPERS) expect(serviceOf(compose, name).image).toBe(`clickhouse/clickhouse-keeper:${tag}`);
    for (const name of CLUSTER_INFRA_SERVICES) {
      expect(serviceOf(compose, name).build).toBeUndefined();
      expect(serviceOf(compose, name).image).toMatch(/^[a-z0-9][a-z0-9/._-]*:v?[0-9][0-9A-Za-z.-]*$/);
    }
  });

  it('builds its kpi services as the default ones and runs the command of each role', () => {
    const { image, build } = serviceOf(compose, 'kpi-ingest');
    for (const name of CLUSTER_KPI_SERVICES) {
      const service = serviceOf(compose, name);
      expect({ name, image: service.image, build: service.build }).toEqual({ name, image, build });
      expect(service.secrets).toEqual(['kpi_bootstrap_token']);
    }
    expect(serviceOf(compose, CLUSTER_MIGRATE).command).toEqual(['migrate']);
    for (const name of CLUSTER_INGEST) expect(serviceOf(compose, name).command).toEqual(['ingest']);
    for (const name of CLUSTER_WORKERS) expect(serviceOf(compose, name).command).toEqual(['worker']);
  });

  it('checks the health of every long-running service; the one-shots have no check and no restart', () => {
    for (const name of added) {
      const { healthcheck, restart } = serviceOf(compose, name);
      if (CLUSTER_ONE_SHOTS.includes(name)) {
        expect({ name, healthcheck, restart }).toEqual({ name, healthcheck: undefined, restart: 'no' });
        continue;
      }
      expect({ name, healthcheck: healthcheck !== undefined && healthcheck.disable !== true }).toEqual({ name, healthcheck: true });
      const test = healthcheck?.test ?? [];
      expect(Array.isArray(test) ? test[0] : 'CMD-SHELL').toMatch(/^CMD(-SHELL)?$/);
    }
  });

  it('configures each ClickHouse node as the single one: user, password, database, access management', () => {
    const single = environmentOf(serviceOf(compose, 'clickhouse'));
    for (const { name, service } of nodes) {
      expect({ name, env: environmentOf(service) }).toEqual({ name, env: single });
      expect(publishedPorts(service).map((p) => p.containerPort).sort()).toEqual(publishedPorts(serviceOf(compose, 'clickhouse')).map((p) => p.containerPort).sort());
      // Every node reads the same cluster file.
      expect(mountedXml(service, CLUSTER_CONFIG_TARGET).source).toBe('./infra/clickhouse/cluster/cluster.xml');
    }
  });

  it('defines the cluster kpi in remote_servers with both shards, one replica each, dialled as CLICKHOUSE_USER', () => {
    expect([...clusters.keys()]).toEqual(['kpi']);
    expect(kpiShards.map((shard) => shard.replicas.map((r) => r.host))).toEqual(CLUSTER_CLICKHOUSE.map((name) => [name]));
    for (const shard of kpiShards) {
      // Replicated tables copy within a shard; Distributed writes one replica.
      expect(shard.internalReplication).toBe('true');
      for (const replica of shard.replicas) {
        expectServiceHost(replica.host);
        // The native port, inside the network.
        expect(publishedPorts(serviceOf(compose, replica.host)).map((p) => p.containerPort)).toContain(replica.port);
        expect(replica.port).toBe(9000);
        // The image replaces `default` with CLICKHOUSE_USER: nodes log in to each other as that
        // user, its password taken from the environment, never written in the file.
        expect(replica.user.attributes).toEqual({ from_env: 'CLICKHOUSE_USER' });
        expect(replica.password.attributes).toEqual({ from_env: 'CLICKHOUSE_PASSWORD' });
        expect([replica.user.text.trim(), replica.password.text.trim()]).toEqual(['', '']);
      }
    }
    for (const { name, service } of nodes) {
      const env = environmentOf(service);
      expect({ name, user: env['CLICKHOUSE_USER'], password: env['CLICKHOUSE_PASSWORD'] }).toEqual({ name, user: 'kpi', password: HOST_ENV['CLICKHOUSE_PASSWORD'] });
    }
    const text = readFileSync(path.join(ROOT, 'infra/clickhouse/cluster/cluster.xml'), 'utf8');
    for (const secret of Object.values(HOST_ENV)) expect(text).not.toContain(secret);
  });

  it('gives each node its own macros: {shard} as its place in remote_servers, {replica} as its name', () => {
    const macros = nodes.map(({ name, service }) => {
      const { source, root } = mountedXml(service, MACROS_TARGET);
      const shardIndex = kpiShards.findIndex((shard) => shard.replicas.some((r) => r.host === name));
      const values = { cluster: xmlText(root, 'macros', 'cluster'), shard: xmlText(root, 'macros', 'shard'), replica: xmlText(root, 'macros', 'replica') };
      expect({ name, ...values }).toEqual({ name, cluster: 'kpi', shard: String(shardIndex + 1).padStart(2, '0'), replica: name });
      return { source, ...values };
    });
    expect(macros.map((m) => m.shard)).toEqual(['01', '02']);
    expect(new Set(macros.map((m) => m.source)).size).toBe(nodes.length);
    // A Replicated table's Keeper path and replica name come from the pair; no two alike.
    expect(new Set(macros.map((m) => `${m.shard}/${m.replica}`)).size).toBe(nodes.length);
  });

  it('reaches Keeper by the names and client port Keeper is configured with', () => {
    const keeper = xmlChild(keeperXml, 'keeper_server');
    const tcpPort = Number(xmlText(keeper, 'tcp_port'));
    const zookeeper = xmlChildren(xmlChild(clusterXml, 'zookeeper'), 'node').map((node) => ({ host: xmlText(node, 'host'), port: Number(xmlText(node, 'port')) }));
    expect(zookeeper).toEqual(CLUSTER_KEEPERS.map((host) => ({ host, port: tcpPort })));
    for (const { host } of zookeeper) expectServiceHost(host);
    // The Raft members are the Keeper services, each id once, this node among them.
    const raft = xmlChildren(xmlChild(keeper, 'raft_configuration'), 'server').map((server) => ({ id: xmlText(server, 'id'), hostname: xmlText(server, 'hostname') }));
    expect(raft.map((server) => server.hostname)).toEqual([...CLUSTER_KEEPERS]);
    expect(new Set(raft.map((server) => server.id)).size).toBe(raft.length);
    expect(raft.map((server) => server.id)).toContain(xmlText(keeper, 'server_id'));
    // Keeper listens beyond loopback, and its healthcheck asks the readiness endpoint it serves.
    expect(xmlText(keeperXml, 'listen_host')).toBe('0.0.0.0');
    const httpPort = xmlText(keeper, 'http_control', 'port');
    const endpoint = xmlText(keeper, 'http_control', 'readiness', 'endpoint');
    for (const name of CLUSTER_KEEPERS) {
      const test = serviceOf(compose, name).healthcheck?.test ?? [];
      const command = Array.isArray(test) ? test.join(' ') : test;
      expect(command).toContain(`/dev/tcp/127.0.0.1/${httpPort}`);
      expect(command).toContain(`GET ${endpoint} `);
    }
    // ClickHouse starts once Keeper is ready, and is healthy once it holds a Keeper session.
    for (const { name, service } of nodes) {
      expect(dependenciesOf(service)).toEqual(Object.fromEntries(CLUSTER_KEEPERS.map((keeperName) => [keeperName, 'service_healthy'])));
      const test = service.healthcheck?.test ?? [];
      const command = Array.isArray(test) ? test.join(' ') : test;
      expect(command).toContain(`--host ${name} `);
      expect(command).toContain('system.zookeeper');
    }
  });

  it('keeps the users and roles made by SQL in Keeper, and makes Distributed inserts wait for every shard', () => {
    const directories = xmlChild(clusterXml, 'user_directories');
    expect(directories.attributes).toEqual({ replace: 'replace' });
    expect(directories.children.map((child) => child.name)).toEqual(['users_xml', 'replicated']);
    expect(xmlText(directories, 'users_xml', 'path')).toBe('users.xml');
    expect(xmlText(directories, 'replicated', 'zookeeper_path')).toMatch(/^\/\S+$/);
    for (const { service } of nodes) {
      const { source, root } = mountedXml(service, PROFILES_TARGET);
      expect(source).toBe('./infra/clickhouse/cluster/profiles.xml');
      const profile = xmlChild(xmlChild(root, 'profiles'), 'default');
      // Ingest commits offsets once the insert is acknowledged: acknowledged must mean stored on its shard.
      expect(xmlText(profile, 'distributed_foreground_insert')).toBe('1');
      expect(xmlText(profile, 'ignore_on_cluster_for_replicated_access_entities_queries')).toBe('1');
    }
  });

  it('runs three KRaft brokers, each a controller and a voter, with unique node ids and one cluster id', () => {
    const ids = brokers.map(({ env }) => Number(env['KAFKA_NODE_ID']));
    expect(new Set(ids).size).toBe(brokers.length);
    for (const id of ids) expect(Number.isInteger(id) && id > 0).toBe(true);
    const clusterIds = new Set(brokers.map(({ env }) => env['CLUSTER_ID']));
    expect(clusterIds.size).toBe(1);
    const [clusterId] = clusterIds;
    // kafka-storage.sh random-uuid: 16 bytes in unpadded base64url; another cluster than the default broker's.
    expect(clusterId).toMatch(/^[A-Za-z0-9_-]{21}[AQgw]$/);
    expect(clusterId).not.toBe(environmentOf(serviceOf(compose, 'kafka'))['CLUSTER_ID']);
    const voters = brokers.map(({ name, env }) => {
      expect(env['KAFKA_PROCESS_ROLES']?.split(',').sort()).toEqual(['broker', 'controller']);
      const controller = env['KAFKA_CONTROLLER_LISTENER_NAMES'] ?? '';
      const listener = kafkaListeners(env['KAFKA_LISTENERS'])[controller];
      return `${env['KAFKA_NODE_ID']}@${name}:${listener?.port}`;
    });
    for (const { env } of brokers) {
      expect((env['KAFKA_CONTROLLER_QUORUM_VOTERS'] ?? '').split(',').sort()).toEqual([...voters].sort());
      for (const voter of (env['KAFKA_CONTROLLER_QUORUM_VOTERS'] ?? '').split(',')) expectServiceHost(hostAndPort(voter.split('@')[1] ?? '').host);
    }
  });

  it('advertises each broker under its service name inside the network and its own published port outside', () => {
    for (const { name, service, env } of brokers) {
      const listeners = kafkaListeners(env['KAFKA_LISTENERS']);
      const advertised = kafkaListeners(env['KAFKA_ADVERTISED_LISTENERS']);
      const protocols = (env['KAFKA_LISTENER_SECURITY_PROTOCOL_MAP'] ?? '').split(',').map((pair) => pair.split(':')[0] ?? '');
      expect(protocols.sort()).toEqual(Object.keys(listeners).sort());
      const controller = env['KAFKA_CONTROLLER_LISTENER_NAMES'] ?? '';
      // The controller listener is never advertised; every other one is, on its own port.
      expect(Object.keys(advertised).sort()).toEqual(Object.keys(listeners).filter((l) => l !== controller).sort());
      for (const [listener, address] of Object.entries(advertised)) expect({ name, listener, port: address.port }).toEqual({ name, listener, port: listeners[listener]?.port });
      const internal = env['KAFKA_INTER_BROKER_LISTENER_NAME'] ?? '';
      expect(advertised[internal]?.host).toBe(name);
      expectServiceHost(name);
      // The host listener: published on 127.0.0.1 at the port it advertises, the same inside.
      const external = Object.entries(advertised).filter(([listener]) => listener !== internal);
      expect(external).toHaveLength(1);
      const [, address] = external[0] ?? ['', { host: '', port: 0 }];
      expect(address.host).toBe('localhost');
      expect(publishedPorts(service)).toEqual([{ hostPort: address.port, containerPort: address.port, protocol: 'tcp' }]);
      // The healthcheck asks the broker itself, on the address other containers use.
      expect(service.healthcheck?.test).toEqual(['CMD', '/opt/kafka/bin/kafka-broker-api-versions.sh', '--bootstrap-server', `${name}:${advertised[internal]?.port}`]);
    }
  });

  it('replicates every topic, internal ones included, 3 times with 2 in sync, as the pipeline makes its own', () => {
    const { factor, minInSync } = topicReplication(brokers.length);
    expect({ factor, minInSync }).toEqual({ factor: 3, minInSync: 2 });
    for (const { name, env } of brokers) {
      const settings = Object.fromEntries(
        [
          'KAFKA_DEFAULT_REPLICATION_FACTOR',
          'KAFKA_MIN_INSYNC_REPLICAS',
          'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR',
          'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR',
          'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR',
          'KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR',
          'KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR',
        ].map((key) => [key, Number(env[key])]),
      );
      expect({ name, settings }).toEqual({
        name,
        settings: {
          KAFKA_DEFAULT_REPLICATION_FACTOR: factor,
          KAFKA_MIN_INSYNC_REPLICAS: minInSync,
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: factor,
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: factor,
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: minInSync,
          KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: factor,
          KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: minInSync,
        },
      });
      expect(env['KAFKA_AUTO_CREATE_TOPICS_ENABLE']).toBe('false');
    }
  });

  describe.each([...CLUSTER_KPI_SERVICES])('%s environment', (name) => {
    const env = environmentOf(serviceOf(compose, name));

    it('uses only variables that EnvSchema knows, as strings', () => {
      const known = new Set(Object.keys(EnvSchema.shape));
      expect(Object.keys(env).filter((key) => !known.has(key))).toEqual([]);
      const raw = serviceOf(compose, name).environment;
      expect(Array.isArray(raw) ? [] : Object.entries(raw ?? {}).filter(([, value]) => typeof value !== 'string')).toEqual([]);
    });

    it('points at every broker, a shard of the cluster kpi, and the cluster’s Temporal namespace', () => {
      const config = loadConfig(env);
      // The cluster of remote_servers, which `kpi migrate` makes its tables ON.
      const cluster = config.clickhouse.mode === 'server' ? config.clickhouse.cluster : undefined;
      expect(cluster).toBe('kpi');
      expect(clusters.has(cluster ?? '')).toBe(true);
      // All three brokers, as each advertises itself to other containers.
      const internal = brokers.map(({ env: broker }) => {
        const address = kafkaListeners(broker['KAFKA_ADVERTISED_LISTENERS'])[broker['KAFKA_INTER_BROKER_LISTENER_NAME'] ?? ''];
        return `${address?.host}:${address?.port}`;
      });
      expect([...config.kafka.brokers].sort()).toEqual(internal.sort());
      // A node's HTTP interface, as the node's own environment configures the user.
      expect(config.clickhouse.mode).toBe('server');
      const url = new URL(config.clickhouse.mode === 'server' ? config.clickhouse.url : '');
      expect(CLUSTER_CLICKHOUSE as readonly string[]).toContain(url.hostname);
      const node = serviceOf(compose, url.hostname);
      expect(publishedPorts(node).map((p) => p.containerPort)).toContain(Number(url.port));
      expect(Number(url.port)).toBe(8123);
      const nodeEnv = environmentOf(node);
      expect(config.clickhouse).toMatchObject({ user: nodeEnv['CLICKHOUSE_USER'], password: HOST_ENV['CLICKHOUSE_PASSWORD'], database: nodeEnv['CLICKHOUSE_DB'] });
      // Only the migration makes the reader user, the same one as the default stack's.
      const reader = config.clickhouse.mode === 'server' ? config.clickhouse.reader : undefined;
      expect(reader).toEqual(name === CLUSTER_MIGRATE ? { user: 'kpi_reader_user', password: HOST_ENV['CLICKHOUSE_READER_PASSWORD'] } : undefined);
      // The shared Temporal, in the namespace made for the cluster: never the default stack's,
      // whose workflow ids (business keys) and task queue are the same.
      const temporal = environmentOf(serviceOf(compose, CLUSTER_NAMESPACE));
      expect(config.temporal.address).toBe(temporal['TEMPORAL_ADDRESS']);
      expect(config.temporal.namespace).toBe(temporal['TEMPORAL_NAMESPACE']);
      expect(config.temporal.namespace).not.toBe(loadConfig(environmentOf(serviceOf(compose, 'kpi-worker'))).temporal.namespace);
      expect(config.temporal.taskQueue).toBe(loadConfig(environmentOf(serviceOf(compose, 'kpi-worker'))).temporal.taskQueue);
      // Nothing scrapes the cluster's services, so none holds the metrics token.
      expect(config.api.metricsToken).toBeUndefined();
    });
  });

  it('spreads ingest and workers over both shards, each with a client id of its own', () => {
    for (const group of [CLUSTER_INGEST, CLUSTER_WORKERS]) {
      const hosts = group.map((name) => new URL(environmentOf(serviceOf(compose, name))['CLICKHOUSE_URL'] ?? '').hostname);
      expect(hosts.sort()).toEqual([...CLUSTER_CLICKHOUSE]);
    }
    // Brokers' logs and quotas tell the members apart by client id: each is its service's name.
    for (const name of [...CLUSTER_INGEST, ...CLUSTER_WORKERS]) expect(environmentOf(serviceOf(compose, name))['KAFKA_CLIENT_ID']).toBe(name);
  });

  it('makes the Temporal namespace the kpi services use, and waits until Temporal serves it', () => {
    const service = serviceOf(compose, CLUSTER_NAMESPACE);
    const env = environmentOf(service);
    expect(env['TEMPORAL_ADDRESS']).toBe(environmentOf(serviceOf(compose, 'kpi-worker'))['TEMPORAL_ADDRESS']);
    expect(env['TEMPORAL_NAMESPACE']).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(service.entrypoint).toEqual(['sh', '-c']);
    // After interpolation `$$` is one `$`: the script reads the variable the CLI reads too.
    const script = Array.isArray(service.command) ? service.command.join('\n') : (service.command ?? '');
    expect(script).toContain('temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE"');
    expect(script).toContain('temporal workflow list --namespace "$TEMPORAL_NAMESPACE"');
    expect(dependenciesOf(service)).toEqual({ temporal: 'service_healthy' });
  });

  it('migrates once both shards are up, and starts ingest and workers after it, every broker and the namespace', () => {
    expect(dependenciesOf(serviceOf(compose, CLUSTER_MIGRATE))).toEqual(Object.fromEntries(CLUSTER_CLICKHOUSE.map((name) => [name, 'service_healthy'])));
    for (const name of [...CLUSTER_INGEST, ...CLUSTER_WORKERS]) {
      expect({ name, deps: dependenciesOf(serviceOf(compose, name)) }).toEqual({
        name,
        deps: {
          [CLUSTER_MIGRATE]: 'service_completed_successfully',
          ...Object.fromEntries(CLUSTER_KAFKA.map((broker) => [broker, 'service_healthy'])),
          temporal: 'service_healthy',
          [CLUSTER_NAMESPACE]: 'service_completed_successfully',
        },
      });
    }
    // Ingest's healthcheck dials the brokers it is given.
    for (const name of CLUSTER_INGEST) expect(JSON.stringify(serviceOf(compose, name).healthcheck?.test)).toContain('process.env.KAFKA_BROKERS');
  });

  it('depends only on services of the profile or of the default stack, in states they can reach', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dependency, condition] of Object.entries(dependenciesOf(service))) {
        const target = compose.services[dependency];
        expect({ service: name, dependency, defined: target !== undefined && dependency !== name }).toEqual({ service: name, dependency, defined: true });
        // The default stack never waits for the cluster: it starts without the profile.
        if (defaults.services[name] !== undefined) expect({ service: name, dependency, default: defaults.services[dependency] !== undefined }).toEqual({ service: name, dependency, default: true });
        if (condition === 'service_healthy') expect({ service: name, dependency, healthcheck: target?.healthcheck !== undefined }).toEqual({ service: name, dependency, healthcheck: true });
        if (condition === 'service_completed_successfully') expect({ service: name, dependency, restart: target?.restart ?? 'no' }).toEqual({ service: name, dependency, restart: 'no' });
      }
    }
  });

  it('shares no host port, container name, hostname or volume with the default stack', () => {
    const all = Object.values(compose.services).flatMap(publishedPorts);
    const keys = all.map((p) => `${p.hostPort}/${p.protocol}`);
    expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
    // Every published port is bound to loopback, as the default stack's are.
    for (const name of added) {
      for (const spec of serviceOf(compose, name).ports ?? []) expect({ name, loopback: typeof spec === 'string' && /^127\.0\.0\.1:\d+:\d+$/.test(spec) }).toEqual({ name, loopback: true });
    }
    // Compose names containers <project>-<service>-<n> unless container_name says otherwise.
    const containers = Object.entries(compose.services).map(([name, service]) => service.container_name ?? `kpi-pipeline-${name}-1`);
    expect(containers.filter((c, i) => containers.indexOf(c) !== i)).toEqual([]);
    const hostnames = Object.entries(compose.services).map(([name, service]) => service.hostname ?? name);
    expect(hostnames.filter((h, i) => hostnames.indexOf(h) !== i)).toEqual([]);
    // A named volume belongs to one service, and is declared.
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    const owners = new Map<string, string>();
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? (volume.split(':')[0] ?? '') : (volume.source ?? '');
        if (source.startsWith('./') || source.startsWith('../')) {
          expect({ service: name, source, exists: existsSync(path.join(ROOT, source)) }).toEqual({ service: name, source, exists: true });
          continue;
        }
        expect({ service: name, volume: source, declared: declared.has(source), owner: owners.get(source) ?? name }).toEqual({ service: name, volume: source, declared: true, owner: name });
        owners.set(source, name);
      }
    }
  });

  it('lists the profile’s published ports in the header comment', () => {
    const text = readFileSync(COMPOSE_PATH, 'utf8');
    const header = text.slice(0, text.search(/^name:/m));
    const ports = added.flatMap((name) => publishedPorts(serviceOf(compose, name)));
    expect(ports.length).toBeGreaterThan(0);
    for (const { hostPort } of ports) expect(header).toMatch(new RegExp(`^#\\s+${hostPort}\\s+\\S`, 'm'));
  });

  it('gives the reader password to the migrations and Grafana only, and secrets to the kpi services and Prometheus only', () => {
    const holders = Object.entries(compose.services)
      .filter(([, service]) => Object.values(environmentOf(service)).includes(HOST_ENV['CLICKHOUSE_READER_PASSWORD'] ?? '?'))
      .map(([name]) => name);
    expect(holders.sort()).toEqual(['grafana', CLUSTER_MIGRATE, 'kpi-migrate'].sort());
    for (const name of CLUSTER_INFRA_SERVICES) expect({ name, secrets: serviceOf(compose, name).secrets }).toEqual({ name, secrets: undefined });
    for (const name of CLUSTER_KPI_SERVICES) expect(environmentOf(serviceOf(compose, name))['KPI_BOOTSTRAP_TOKEN_FILE']).toBe('/run/secrets/kpi_bootstrap_token');
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
