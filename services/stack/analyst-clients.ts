import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../shared/config.js';
import { PrerequisiteError, StackError } from '../shared/errors.js';
import { projectRoot } from '../shared/paths.js';
import { requireCommand, requireJava } from './prerequisites.js';
import { runQuiet } from './processes.js';

/**
 * Real ClickHouse clients that analysts use — clickhouse-connect with pandas, and the JDBC
 * driver — installed on demand into the tools folder, so tests can run them against the SQL
 * door. Their sources are test/clients/; nothing is built inside the source tree. Each install
 * is stamped with its inputs and redone when they change (a new pin, an edited pom).
 */

const SOURCES = path.join(projectRoot(), 'test', 'clients');

/** The Python harness: a JSON plan on stdin, one JSON line per step on stdout. */
export const PYTHON_ANALYST_SCRIPT = path.join(SOURCES, 'python', 'analyst.py');

const PYTHON_REQUIREMENTS = path.join(SOURCES, 'python', 'requirements.txt');
const JDBC_PROJECT = path.join(SOURCES, 'jdbc');

/** pandas 3 (pinned in requirements.txt) is built for Python 3.11 and newer only. */
const PYTHON_MINIMUM: readonly [number, number] = [3, 11];

type Say = (line: string) => void;

const toStderr: Say = (line) => process.stderr.write(`${line}\n`);

function clientsDir(config: Config): string {
  return path.join(config.paths.toolsDir, 'analyst-clients');
}

/** True when `stampFile` holds `stamp`: the install it marks was made from the same inputs. */
function stamped(stampFile: string, stamp: string): boolean {
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
}

function tail(output: string): string {
  return output.trim().slice(-1500);
}

function requirePython(): void {
  const [major, minor] = PYTHON_MINIMUM;
  requireCommand('python3', 'Installing the Python analyst client (clickhouse-connect, pandas) from PyPI');
  const probe = runQuiet('python3', ['-c', 'import sys, venv; print("%d.%d" % sys.version_info[:2])'], { timeoutMs: 30_000 });
  const version = /^(\d+)\.(\d+)/.exec(probe.output.trim());
  if (probe.status !== 0 || !version) {
    throw new PrerequisiteError(`The Python analyst client needs python3 with the venv module; it said: ${tail(probe.output)}. Install python3-venv (Debian/Ubuntu: apt-get install python3-venv).`);
  }
  if (Number(version[1]) < major || (Number(version[1]) === major && Number(version[2]) < minor)) {
    throw new PrerequisiteError(`The Python analyst client (pandas 3) needs Python ${major}.${minor} or newer, but python3 is ${version[1]}.${version[2]}. Install a newer Python (Debian/Ubuntu: apt-get install python3; macOS: brew install python).`);
  }
}

/**
 * The python of a venv that has clickhouse-connect and pandas at the pins of
 * test/clients/python/requirements.txt, installing it first when it is missing or its pins
 * changed. Run `PYTHON_ANALYST_SCRIPT` with it.
 */
export function ensurePythonClient(config: Config, say: Say = toStderr): string {
  const venv = path.join(clientsDir(config), 'venv');
  const python = path.join(venv, 'bin', 'python');
  const requirements = readFileSync(PYTHON_REQUIREMENTS, 'utf8');
  const stampFile = path.join(venv, 'requirements.installed.txt');
  if (existsSync(python) && stamped(stampFile, requirements)) return python;

  requirePython();
  say(`Installing the Python analyst client (clickhouse-connect, pandas) from PyPI into ${venv} (first run, or after its pins change)…`);
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(path.dirname(venv), { recursive: true });
  const created = runQuiet('python3', ['-m', 'venv', venv]);
  if (created.status !== 0) throw new StackError(`Could not create a Python venv in ${venv}: ${tail(created.output)}`);
  const installed = runQuiet(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', PYTHON_REQUIREMENTS]);
  if (installed.status !== 0) {
    throw new StackError(`Could not install the Python analyst client from ${PYTHON_REQUIREMENTS}; pip said:\n${tail(installed.output)}`);
  }
  writeFileSync(stampFile, requirements);
  return python;
}

/** Every file the JDBC build reads, hashed: the pom and the sources under src/. */
function jdbcSourcesHash(): string {
  const hash = createHash('sha256');
  const add = (file: string): void => {
    hash.update(path.relative(JDBC_PROJECT, file)).update('\0').update(readFileSync(file)).update('\0');
  };
  add(path.join(JDBC_PROJECT, 'pom.xml'));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else add(full);
    }
  };
  walk(path.join(JDBC_PROJECT, 'src'));
  return hash.digest('hex');
}

/**
 * The command line that runs the JDBC harness (ClickHouse's jdbc-v2 driver): a JSON plan on
 * stdin, one JSON line per step on stdout. Builds it with Maven into the tools folder first
 * when it is missing or its pom or sources changed; after the first build Maven needs no
 * network (its dependencies are in the local repository).
 */
export function ensureJdbcClient(config: Config, say: Say = toStderr): string[] {
  const java = requireJava(config.stack.javaHome, 17, 'The JDBC analyst client');
  const out = path.join(clientsDir(config), 'jdbc');
  const jar = path.join(out, 'jdbc-analyst.jar');
  const stamp = jdbcSourcesHash();
  const stampFile = path.join(out, 'sources.sha256');
  if (existsSync(jar) && stamped(stampFile, stamp)) return [java, '-jar', jar];

  requireCommand('mvn', 'Building the JDBC analyst client');
  say(`Building the JDBC analyst client (ClickHouse jdbc-v2) with Maven into ${out} (first run, or after its sources change)…`);
  rmSync(out, { recursive: true, force: true });
  const built = runQuiet('mvn', ['-q', '-B', 'package', '-f', path.join(JDBC_PROJECT, 'pom.xml'), `-DoutputDir=${out}`], {
    env: { ...process.env, ...(config.stack.javaHome ? { JAVA_HOME: config.stack.javaHome } : {}) },
  });
  if (built.status !== 0 || !existsSync(jar)) {
    throw new StackError(`Could not build the JDBC analyst client from ${JDBC_PROJECT}; Maven said:\n${tail(built.output)}`);
  }
  writeFileSync(stampFile, stamp);
  return [java, '-jar', jar];
}
