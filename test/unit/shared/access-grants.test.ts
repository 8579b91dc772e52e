import { accessStatements, READER_ROLE, type ServerClickHouse } from '../../../services/shared/access-control.js';
import { clusterRewriter } from '../../../services/shared/cluster-sql.js';
import { readMigrations } from '../../../services/shared/migrations.js';

const server: ServerClickHouse = { mode: 'server', url: 'http://clickhouse:8123', user: 'kpi', password: '', database: 'kpi' };

/** The tables the reader's grant names, in order. */
function readerGrants(statements: string[]): string[] {
  const grant = statements.find((s) => s.startsWith('GRANT') && s.includes(`TO ${READER_ROLE} `));
  if (grant === undefined) throw new Error('no grant to the reader role');
  const tables = [...grant.matchAll(/SELECT ON kpi\.(\w+)/g)].map((m) => m[1] ?? '');
  // Every object the grant names is in that one form: none escapes the count.
  expect(grant.match(/\bON\b/g)).toHaveLength(tables.length);
  return tables;
}

/**
 * On a cluster a Distributed table's query reads the shard it runs on as the querying user,
 * so the reader must also be granted the local table under each Distributed table it may
 * read; views and tables kept from the reader stay as they are.
 */
describe('the reader role on a ClickHouse cluster', () => {
  it('is granted the local table under every Distributed table it reads, and nothing else more', () => {
    const single = readerGrants(accessStatements(server));
    const clustered = readerGrants(accessStatements({ ...server, cluster: 'kpi' }));
    // Independently: the Distributed tables the migrations make, and the table each reads.
    const rewrite = clusterRewriter({ cluster: 'kpi', database: 'kpi' });
    const distributed = new Map(
      readMigrations()
        .flatMap((m) => m.statements.flatMap(rewrite))
        .flatMap((s) => {
          const m = /^CREATE TABLE IF NOT EXISTS kpi\.(\w+) ON CLUSTER kpi[\s\S]*ENGINE = Distributed\('kpi', 'kpi', '(\w+)'/.exec(s);
          return m ? [[m[1] ?? '', m[2] ?? ''] as const] : [];
        }),
    );
    expect(distributed.size).toBeGreaterThan(10);
    const expected = single.flatMap((table) => (distributed.has(table) ? [table, distributed.get(table) ?? ''] : [table]));
    expect(clustered).toEqual(expected);
    expect(clustered).not.toContain('principals_local');
    expect(clustered.filter((t) => t.startsWith('v_') && t.endsWith('_local'))).toEqual([]);
  });

  it('is unchanged on one server', () => {
    expect(readerGrants(accessStatements(server)).filter((t) => t.endsWith('_local'))).toEqual([]);
  });
});
