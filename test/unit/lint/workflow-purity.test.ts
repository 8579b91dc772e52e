import path from 'node:path';
import { ESLint } from 'eslint';
import { ROOT } from '../../support/env.js';

const workflowFile = path.join(ROOT, 'workflows', 'definitions', 'warehouse-counts.ts');

async function ruleIds(source: string, filePath = workflowFile): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(source, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('workflow purity (ESLint)', () => {
  it('rejects importing kafkajs in a workflow file', async () => {
    const ids = await ruleIds("import { Kafka } from 'kafkajs';\nexport const k = Kafka;\n");
    expect(ids).toContain('@typescript-eslint/no-restricted-imports');
  });

  it.each(['node:fs', '@clickhouse/client', '../../services/shared/clickhouse.js', '@temporalio/client'])('rejects a value import of %s', async (spec) => {
    const ids = await ruleIds(`import * as m from '${spec}';\nexport const x = m;\n`);
    expect(ids).toContain('@typescript-eslint/no-restricted-imports');
  });

  it('accepts the workflow SDK, sibling files, schemas and type-only imports', async () => {
    const source = [
      "import { sleep } from '@temporalio/workflow';",
      "import { TASK_QUEUE } from '../../schemas/names.js';",
      "import type { WarehouseActivities } from '../activities/warehouse.js';",
      "import { warehouseCountsWorkflow } from './warehouse-counts.js';",
      'export const all: unknown[] = [sleep, TASK_QUEUE, warehouseCountsWorkflow];',
      'export type A = WarehouseActivities;',
      '',
    ].join('\n');
    expect(await ruleIds(source)).toEqual([]);
  });

  it('rejects a floating promise anywhere', async () => {
    const file = path.join(ROOT, 'services', 'shared', 'wait.ts');
    const ids = await ruleIds('async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n', file);
    expect(ids).toContain('@typescript-eslint/no-floating-promises');
  });
});
