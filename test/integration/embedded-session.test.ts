import { rmSync } from 'node:fs';
import { openWarehouse, queryRows, type Warehouse } from '../../services/shared/clickhouse.js';
import { loadConfig } from '../../services/shared/config.js';
import { tempDir } from '../support/env.js';

/**
 * The embedded engine leaves the output of a statement that failed mid-way in front of the
 * next statement's answer. Every caller shares one session, so a failure of one (an
 * analyst's query cut at its row limit) must never reach another's answer.
 */
describe('the embedded session after a failed statement', () => {
  const dir = tempDir('session');
  let warehouse: Warehouse;

  beforeAll(async () => {
    warehouse = await openWarehouse(loadConfig({ ...process.env, CHDB_PATH: dir }).clickhouse);
  });

  afterAll(async () => {
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['a result over its row limit', "SELECT number FROM numbers(5000) SETTINGS max_result_rows = 1000, result_overflow_mode = 'throw', max_block_size = 100"],
    ['an error mid-way', 'SELECT throwIf(number = 3000) FROM numbers(5000) SETTINGS max_block_size = 100'],
  ])('answers the next query exactly after %s', async (_what, failing) => {
    await expect(warehouse.client.query({ query: failing, format: 'JSONEachRow' })).rejects.toMatchObject({ code: expect.stringMatching(/^(396|395)$/) as unknown });
    expect(await queryRows(warehouse.client, 'SELECT 42 AS answer')).toEqual([{ answer: 42 }]);
    // Failures and reads interleaved: each read still gets exactly its own rows.
    const mixed = Array.from({ length: 8 }, (_, i) =>
      i % 2 === 0 ? warehouse.client.query({ query: failing, format: 'TabSeparated' }).then(() => 'no error', () => 'failed') : queryRows<{ n: number }>(warehouse.client, 'SELECT {i: UInt8} AS n', { i }),
    );
    expect(await Promise.all(mixed)).toEqual(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? 'failed' : [{ n: i }])));
  });
});
