/**
 * The one adapter for @temporalio/client: connections and clients for commands, tests and
 * the stack's health check. Workers live in workflows/worker.ts.
 */
import { Client, Connection } from '@temporalio/client';
import type { Config } from './config.js';

export type { Client, Connection };

export async function connectTemporal(config: Config['temporal'], options: { connectTimeoutMs?: number } = {}): Promise<{ connection: Connection; client: Client }> {
  const connection = await Connection.connect({ address: config.address, connectTimeout: options.connectTimeoutMs ?? 5_000 });
  const client = new Client({ connection, namespace: config.namespace });
  return { connection, client };
}

/** Asks the frontend to describe the namespace: proves the server and its store answer. */
export async function describeNamespace(config: Pick<Config['temporal'], 'address' | 'namespace'>): Promise<string> {
  const connection = await Connection.connect({ address: config.address, connectTimeout: 1_000 });
  try {
    const response = await connection.workflowService.describeNamespace({ namespace: config.namespace });
    return `namespace ${response.namespaceInfo?.name ?? config.namespace} ready`;
  } finally {
    await connection.close();
  }
}
