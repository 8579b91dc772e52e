import { open, stat, type FileHandle } from 'node:fs/promises';
import { addAbortSignal, type Readable } from 'node:stream';
import { z } from 'zod';
import { MAX_EVENT_BYTES } from '../../../schemas/events/decode.js';
import { topicNames } from '../../../schemas/events/registry.js';
import type { Config } from '../../shared/config.js';
import { KpiError, UsageError, describeError } from '../../shared/errors.js';
import { kafkaFromConfig } from '../../shared/kafka.js';
import type { Logger } from '../../shared/logger.js';
import { familyTopicSpecs, openTopicSender, type TopicSender } from '../../shared/topic-sender.js';
import { readLines } from '../../publish/lines.js';
import { publishLines, type BadLine } from '../../publish/publish-lines.js';
import { MAX_PRINTED_BAD_LINES, badLineRecord, formatBadLine, formatMoreBadLines, formatProgress, formatSummary, summarize, type PublishSummary } from '../publish-report.js';

const FLAGS: Record<string, string> = { rate: '--rate', fromLine: '--from-line', bad: '--bad' };

/** Bytes read from the input at a time: large reads make scanning for line ends cheap. */
const READ_CHUNK_BYTES = 1024 * 1024;

export const PublishOptions = z.object({
  rate: z
    .string()
    .regex(/^(\d+(\.\d*)?|\.\d+)$/, 'expected a number of events per second, e.g. 500 or 0.5')
    .transform(Number)
    .refine((v) => v > 0 && Number.isFinite(v), 'expected a number of events per second above 0')
    .optional(),
  fromLine: z
    .string()
    .regex(/^[1-9]\d*$/, 'expected a line number from 1')
    .transform(Number)
    .refine((v) => Number.isSafeInteger(v), 'expected a line number from 1')
    .default(1),
  bad: z.string().min(1, 'expected a file path').optional(),
  dryRun: z.boolean().optional(),
  json: z.boolean().optional(),
});
export type PublishOptions = z.infer<typeof PublishOptions>;

/** Checks the command's options as commander hands them over (strings); throws a UsageError naming each wrong flag. */
export function parsePublishOptions(raw: unknown): PublishOptions {
  const parsed = PublishOptions.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      return `  ${FLAGS[field] ?? (field || 'options')}: ${issue.message}`;
    });
    throw new UsageError(`Invalid publish options:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Why a path cannot be used, in a person's words. */
function pathProblem(err: unknown): string {
  const code = err instanceof Error && 'code' in err ? String(err.code) : '';
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  return describeError(err);
}

interface Input {
  stream: Readable;
  /** Device and inode of a file, so that --bad cannot name the input itself. */
  identity?: { dev: number; ino: number };
}

async function openInput(file: string): Promise<Input> {
  if (file === '-') return { stream: process.stdin };
  let handle: FileHandle;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new UsageError(`cannot read ${file}: it is a folder`);
    handle = await open(file, 'r');
    return { stream: handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES }), identity: { dev: info.dev, ino: info.ino } };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${file}: ${pathProblem(err)}`);
  }
}

/** Opens the --bad file for writing; refuses the input file itself, which opening would empty. */
async function openBadFile(path: string, input: Input): Promise<FileHandle> {
  const existing = await stat(path).catch(() => undefined);
  if (existing && input.identity && existing.dev === input.identity.dev && existing.ino === input.identity.ino) {
    throw new UsageError(`--bad ${path} is the input file; name another file`);
  }
  try {
    return await open(path, 'w');
  } catch (err) {
    throw new UsageError(`cannot write --bad ${path}: ${pathProblem(err)}`);
  }
}

async function connect(config: Config, logger: Logger): Promise<TopicSender> {
  const kafka = kafkaFromConfig(config, logger);
  try {
    return await openTopicSender(kafka, familyTopicSpecs(config.kafka.topicPrefix, config.kafka.topicPartitions));
  } catch (err) {
    throw new KpiError(
      `Kafka at ${config.kafka.brokers.join(',')} did not take the family topics: ${describeError(err)}. Is it running (npx kpi stack up), and may this client create, describe and write them?`,
      { cause: err },
    );
  }
}

/**
 * `kpi publish <file|->`: sends historical events to their family topics. Every line is
 * checked as ingest checks it; bad lines are reported and not sent, and the run goes on.
 * The command needs the brokers only — Kafka's own ACLs decide who may write — and no kpi
 * credential. On SIGINT or SIGTERM it stops reading, sends what it checked and says where
 * to resume; events sent twice are stored once, as ingest deduplicates by event_id.
 */
export async function publishCommand(
  config: Config,
  baseLogger: Logger,
  file: string,
  options: { rate?: string; fromLine?: string; bad?: string; dryRun?: boolean; json?: boolean },
): Promise<void> {
  const opts = parsePublishOptions(options);
  const dryRun = opts.dryRun === true;
  const say = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };

  const input = await openInput(file);
  const cleanup: (() => Promise<void> | void)[] = [
    () => {
      input.stream.destroy();
    },
  ];
  const stop = new AbortController();
  let stoppedBy: string | undefined;
  /** Every line up to this one is done, as far as the progress reports know: named when leaving at once. */
  let done = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      say(`publish: ${signal} again: leaving now; every line up to ${done} is done: resume with --from-line ${done + 1} (events sent twice are stored once)`);
      process.exit(130);
    }
    stoppedBy = signal;
    say(`publish: ${signal}: stopping after the current line and sending what was checked (again to leave at once)`);
    stop.abort();
  };
  try {
    const badFile = opts.bad === undefined ? undefined : await openBadFile(opts.bad, input);
    if (badFile) cleanup.push(() => badFile.close());
    // Client warnings only at LOG_LEVEL=debug or below; the command reports its own progress.
    const logger = config.logLevel === 'info' ? baseLogger.child({}, { level: 'error' }) : baseLogger;
    const sender = dryRun ? undefined : await connect(config, logger);
    if (sender) cleanup.push(() => sender.disconnect());
    if (file === '-' && process.stdin.isTTY) say('publish: reading events from the terminal, one per line; end with Ctrl-D');

    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    addAbortSignal(stop.signal, input.stream);
    const badLines: PublishSummary['badLines'] = [];
    const result = await publishLines({
      lines: readLines(input.stream, { maxLineBytes: MAX_EVENT_BYTES, fromLine: opts.fromLine }),
      topics: topicNames(config.kafka.topicPrefix).families,
      ...(sender ? { send: (flush) => sender.send(flush) } : {}),
      ...(opts.rate === undefined ? {} : { ratePerSecond: opts.rate }),
      signal: stop.signal,
      onBad: async (bad: BadLine) => {
        if (badLines.length < MAX_PRINTED_BAD_LINES) {
          badLines.push({ line: bad.line, code: bad.code, reason: bad.reason });
          say(formatBadLine(bad));
        }
        if (badFile) await badFile.write(badLineRecord(bad));
      },
      onProgress: (counts, elapsedMs) => {
        done = counts.done;
        say(formatProgress(counts, elapsedMs, dryRun));
      },
    });

    if (result.bad > badLines.length) say(formatMoreBadLines(result.bad - badLines.length, opts.bad));
    const summary = summarize(result, { input: file, dryRun, fromLine: opts.fromLine, stoppedBy, badLines });
    if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else process.stdout.write(`${formatSummary(summary, { badFile: opts.bad }).join('\n')}\n`);

    // Scripts notice through the exit code: 1 when a line was bad or the run was cut short.
    if (summary.stoppedBy !== null) {
      throw new KpiError(`stopped by ${summary.stoppedBy} after line ${summary.lastLine}; resume with --from-line ${summary.resumeFromLine ?? summary.lastLine + 1}`);
    }
    if (summary.bad > 0) {
      const first = summary.badLines[0];
      throw new KpiError(`${summary.bad} bad line${summary.bad === 1 ? '' : 's'}${dryRun ? '' : ', not sent'}${first ? ` (the first: line ${first.line}, ${first.code})` : ''}`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const close of cleanup.reverse()) await close();
  }
}
