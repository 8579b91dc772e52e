import type { Config } from '../../shared/config.js';
import { formatStatus, stackDown, stackStatus, stackUp } from '../../stack/stack.js';

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

export async function stackUpCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const result = await stackUp(config, say);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  if (result.started.length === 0) process.stdout.write('Local stack already running; nothing started.\n');
  else process.stdout.write(`Started: ${result.started.join(', ')}.\n`);
  process.stdout.write(`${formatStatus(result.statuses, config)}\n`);
}

export async function stackDownCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const stopped = await stackDown(config, say);
  if (options.json) process.stdout.write(`${JSON.stringify({ stopped })}\n`);
  else process.stdout.write(stopped.length === 0 ? 'Nothing to stop.\n' : `Stopped: ${stopped.join(', ')}.\n`);
}

export async function stackStatusCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const statuses = await stackStatus(config);
  if (options.json) process.stdout.write(`${JSON.stringify({ services: statuses })}\n`);
  else process.stdout.write(`${formatStatus(statuses, config)}\n`);
}
