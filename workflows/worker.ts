import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, Worker, DefaultLogger } from '@temporalio/worker';
import type { Config } from '../services/shared/config.js';
import { createActivities, type ActivityDeps } from './activities/index.js';

/** The bundle entry: sources under tsx and jest, compiled files under dist. */
function workflowsEntry(): string {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'definitions');
  const entry = ['index.ts', 'index.js'].map((f) => path.join(dir, f)).find((f) => existsSync(f));
  if (!entry) throw new Error(`No workflow bundle entry in ${dir}`);
  return entry;
}

let runtimeInstalled = false;

/**
 * Temporal's own worker logs go through at warning level; ours go through pino. The process
 * handles SIGTERM itself (finish the batch, commit, then stop the worker), so the runtime
 * must not act on signals.
 */
function installRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  runtimeInstalled = true;
}

export interface WorkerHandle {
  worker: Worker;
  /** Resolves when the worker has stopped polling and finished its tasks. */
  run: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Starts a worker that hosts every workflow and activity on the pipeline's task queue.
 * The workflow code is bundled from workflows/definitions (deterministic sandbox).
 */
export async function startWorker(config: Config['temporal'], deps: ActivityDeps, options: { taskQueue?: string } = {}): Promise<WorkerHandle> {
  installRuntime();
  const connection = await NativeConnection.connect({ address: config.address });
  const worker = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: options.taskQueue ?? config.taskQueue,
    workflowsPath: workflowsEntry(),
    // Sources import siblings as './x.js' (NodeNext); the bundler must find './x.ts'.
    bundlerOptions: {
      webpackConfigHook: (webpack) => ({
        ...webpack,
        resolve: { ...webpack.resolve, extensionAlias: { '.js': ['.ts', '.js'] } },
      }),
    },
    activities: createActivities(deps),
  });
  const run = worker.run().finally(() => connection.close());
  return {
    worker,
    run,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await run;
    },
  };
}
