import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Kafka } from '../../services/shared/kafka.js';
import { waitFor } from '../../services/shared/wait.js';
import type { SimMessage } from '../../services/simulator/generate.js';
import { EVENT_SCHEMAS, type Family } from '../../schemas/events/index.js';
import { portOpen } from '../../services/stack/processes.js';
import { ROOT } from './env.js';
import { MICRO_DECIMALS, decimalMicros, divideRoundingHalfAway, isoDigits } from './oracle-money.js';

export { freePort } from '../../services/stack/processes.js';

/** Starts `kpi <args>` in the background, output kept for error messages. */
export function startKpi(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  // No root ClickHouse listener unless a test asks for one: tests run beside each other and beside whatever holds 8123.
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'kpi.js'), ...args], { cwd: ROOT, env: { KPI_CLICKHOUSE_PORT: 'off', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString('utf8')));
  return { child, output: () => output.slice(-5_000) };
}

/** The exit code, or the signal's name when the process died of one. */
export function exited(child: ChildProcess): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
}

/**
 * `count` ports in a row, base to base + count − 1, that nobody listens on, below Linux's
 * ephemeral range (32768 and up), for services a test stops and starts again on the same
 * port: a port the system hands out (freePort(), a client's own end) never takes one of
 * these while its service is down. Even bases, so a Kafka node's port pair stays aligned.
 */
export async function freeSteadyPorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + 2 * Math.floor(Math.random() * 6_000);
    const taken = await Promise.all(Array.from({ length: count }, (_, i) => portOpen('127.0.0.1', base + i, 300)));
    if (!taken.some(Boolean)) return base;
  }
  throw new Error(`found no ${count} free ports in a row`);
}

/**
 * Stops a started process as its user would, with SIGTERM, and with SIGKILL when it has not
 * exited `graceMs` later: a test's cleanup never waits on a process that hangs.
 */
export async function stop(child: ChildProcess, graceMs = 20_000): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await exited(child);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * True when the group's committed offsets reach every partition's end on these topics. Asked
 * again for up to 30 s while Kafka answers with a retriable error: right after a broker's
 * death the group's coordinator may have moved (NOT_COORDINATOR), which kafkajs's admin does
 * not retry itself.
 */
export async function groupCaughtUp(kafka: Kafka, groupId: string, topics: string[]): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await committedToEnd(kafka, groupId, topics);
    } catch (err) {
      const retriable = err instanceof Error && 'retriable' in err && err.retriable === true;
      if (!retriable || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function committedToEnd(kafka: Kafka, groupId: string, topics: string[]): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const { topic, partitions } of committed) {
      const ends = await admin.fetchTopicOffsets(topic);
      for (const end of ends) {
        const done = partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
        if (BigInt(end.high) > 0n && BigInt(done) < BigInt(end.high)) return false;
      }
    }
    return true;
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the ingest group has committed every message of these topics. */
export async function untilCaughtUp(kafka: Kafka, groupId: string, topics: string[], options: { timeoutMs?: number; what?: string } = {}): Promise<void> {
  await waitFor(async () => ((await groupCaughtUp(kafka, groupId, topics)) ? true : undefined), {
    timeoutMs: options.timeoutMs ?? 10 * 60_000,
    intervalMs: 500,
    what: options.what ?? 'the ingest group to commit every message',
  });
}

/** Micros → whole minor units of the currency, half away from zero: how the warehouse's minor-unit columns hold a decimal amount. */
function microsToMinor(micros: bigint, currency: string): bigint {
  return divideRoundingHalfAway(micros, 10n ** BigInt(MICRO_DECIMALS - isoDigits(currency)));
}

/**
 * What a warehouse must hold after ingesting `messages`, computed here from the messages
 * themselves: plain TypeScript, none of the pipeline's code. Money is the sum of the
 * minor-unit columns: exact for amounts in minor units, each decimal amount (v3 line, v2
 * return or refund) rounded to its currency's minor unit.
 */
export function expectedFrom(messages: readonly SimMessage[]) {
  const ids: Record<Family, Set<string>> = { sales: new Set(), orders: new Set(), returns: new Set(), tickets: new Set() };
  let saleNet = 0n;
  let refunds = 0n;
  let returnsAmount = 0n;
  const malformed: string[] = [];
  for (const m of messages) {
    if (m.kind === 'malformed') {
      malformed.push(m.value.toString('base64'));
      continue;
    }
    const event = m.event;
    if (m.kind !== 'valid' || !event) continue;
    const family = EVENT_SCHEMAS[event.type].family;
    if (ids[family].has(event.event_id)) continue;
    ids[family].add(event.event_id);
    if (event.type === 'sale.completed') {
      const { currency } = event.payload;
      for (const l of event.payload.lines) {
        if ('unit_price' in l) saleNet += microsToMinor(BigInt(l.quantity) * decimalMicros(l.unit_price) - decimalMicros(l.discount), currency);
        else saleNet += BigInt(l.quantity) * BigInt(l.unit_price_minor) - BigInt(l.discount_minor ?? 0);
      }
    } else if (event.type === 'refund.issued' || event.type === 'return.received') {
      const p = event.payload;
      const minor = 'amount' in p ? microsToMinor(decimalMicros(p.amount), p.currency) : BigInt(p.amount_minor);
      if (event.type === 'refund.issued') refunds += minor;
      else returnsAmount += minor;
    }
  }
  return {
    ids,
    valid: ids.sales.size + ids.orders.size + ids.returns.size + ids.tickets.size,
    money: { saleLinesNetMinor: saleNet.toString(), refundsMinor: refunds.toString(), returnsAmountMinor: returnsAmount.toString() },
    malformed: malformed.sort(),
  };
}
