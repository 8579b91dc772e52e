import { MAX_KAFKA_NODES, loadConfig, type Config } from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';
import { formatStatus, stackDown, stackStatus, stackUp } from '../../stack/stack.js';

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** The configuration with `--kafka-nodes` in place of KPI_STACK_KAFKA_NODES, checked the same way (ports included). */
function withKafkaNodes(config: Config, nodes: string | undefined): Config {
  if (nodes === undefined) return config;
  if (!/^\d+$/.test(nodes.trim()) || Number(nodes) < 1 || Number(nodes) > MAX_KAFKA_NODES) throw new UsageError(`--kafka-nodes: expected a whole number from 1 to ${MAX_KAFKA_NODES} (got ${JSON.stringify(nodes)})`);
  return loadConfig({ ...process.env, KPI_STACK_KAFKA_NODES: nodes.trim() });
}

export async function stackUpCommand(baseConfig: Config, options: { json?: boolean; kafkaNodes?: string }): Promise<void> {
  const config = withKafkaNodes(baseConfig, options.kafkaNodes);
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
