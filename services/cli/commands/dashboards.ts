import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DASHBOARDS_DIR, grafanaFiles } from '../../../dashboards/index.js';
import type { Config } from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';
import { projectRoot } from '../../shared/paths.js';
import { loadScorecards } from '../../shared/scorecards.js';

/** Where the checked-in copies live: `<checkout>/infra/grafana`, which docker-compose.yml mounts. */
export function defaultGrafanaDir(): string {
  return path.join(projectRoot(), 'infra', 'grafana');
}

/** What differs between a Grafana folder and what would be generated: changed, missing, and dashboards nothing generates any more. */
export async function grafanaDrift(dir: string, files: Map<string, string>): Promise<{ differs: string[]; missing: string[]; extra: string[] }> {
  const drift = { differs: [] as string[], missing: [] as string[], extra: [] as string[] };
  for (const [rel, content] of files) {
    const existing = await readFile(path.join(dir, rel), 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
    if (existing === undefined) drift.missing.push(rel);
    else if (existing !== content) drift.differs.push(rel);
  }
  const present = await readdir(path.join(dir, DASHBOARDS_DIR)).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
  for (const name of present) if (name.endsWith('.json') && !files.has(`${DASHBOARDS_DIR}/${name}`)) drift.extra.push(`${DASHBOARDS_DIR}/${name}`);
  return drift;
}

/** Brings a Grafana folder in line with `files`: writes what differs or is missing, removes dashboards nothing generates. */
export async function writeGrafanaFiles(dir: string, files: Map<string, string>, drift?: Awaited<ReturnType<typeof grafanaDrift>>): Promise<{ written: number; removed: number }> {
  const { differs, missing, extra } = drift ?? (await grafanaDrift(dir, files));
  for (const rel of [...differs, ...missing]) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), files.get(rel) ?? '', 'utf8');
  }
  for (const rel of extra) await rm(path.join(dir, rel));
  return { written: differs.length + missing.length, removed: extra.length };
}

/**
 * `kpi dashboards build`: writes the Grafana dashboards generated from the KPI catalog and
 * the scorecards in force (KPI_SCORECARDS_FILE or the defaults) into infra/grafana, and
 * removes dashboards nothing generates any more. The same inputs give the same bytes. With
 * `check` it writes nothing and fails when the folder is out of date.
 */
export async function dashboardsBuildCommand(config: Config, options: { out?: string; check?: boolean }): Promise<void> {
  const dir = path.resolve(options.out ?? defaultGrafanaDir());
  const files = grafanaFiles(loadScorecards(config.close), { timeZone: config.business.timeZone, reportingCurrency: config.business.reportingCurrency });
  const drift = await grafanaDrift(dir, files);
  const stale = [...drift.differs.map((f) => `  differs: ${f}`), ...drift.missing.map((f) => `  missing: ${f}`), ...drift.extra.map((f) => `  extra:   ${f}`)];
  if (options.check) {
    if (stale.length > 0) throw new UsageError(`${dir} does not match the dashboards generated from the catalog and scorecards (${stale.length} file(s)):\n${stale.join('\n')}\nRun \`npx kpi dashboards build\` to regenerate them, then commit them.`);
    process.stdout.write(`${files.size} Grafana file(s) in ${dir} are up to date.\n`);
    return;
  }
  await writeGrafanaFiles(dir, files, drift);
  process.stdout.write(
    stale.length === 0
      ? `${files.size} Grafana file(s) in ${dir} were already up to date.\n`
      : `Wrote ${drift.differs.length + drift.missing.length} and removed ${drift.extra.length} of ${files.size} Grafana file(s) in ${dir}: ${[...files.keys()].join(', ')}.\n`,
  );
}
