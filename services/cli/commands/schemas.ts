import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { asyncApiDocument, eventJsonSchemas } from '../../../schemas/events/export.js';
import { UsageError } from '../../shared/errors.js';
import { projectRoot } from '../../shared/paths.js';

/** Folder under the output folder that holds one schema file per event type and version. */
const EVENTS_DIR = 'events';
const SCHEMA_SUFFIX = '.schema.json';
const ASYNCAPI_FILE = 'asyncapi.json';

/** Where the checked-in copies live: `<checkout>/schemas/generated`. */
export function defaultSchemasOutDir(): string {
  return path.join(projectRoot(), 'schemas', 'generated');
}

/**
 * Every generated file by its path relative to the output folder (always with `/`), in a
 * fixed order. Pretty JSON with a trailing newline, so files diff well and compare exactly.
 */
export function renderContractFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const e of eventJsonSchemas()) files.set(`${EVENTS_DIR}/${e.name}${SCHEMA_SUFFIX}`, toJsonText(e.schema));
  files.set(ASYNCAPI_FILE, toJsonText(asyncApiDocument()));
  return files;
}

function toJsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export interface ContractDrift {
  /** Present on both sides with different content. */
  differs: string[];
  /** Generated but absent from the folder. */
  missing: string[];
  /** Schema files in the folder that nothing generates any more (a removed type or version). */
  extra: string[];
}

/** Compares a folder with what would be generated. Only `events/*.schema.json` can be extra; other files are left alone. */
export async function contractDrift(dir: string, files: Map<string, string> = renderContractFiles()): Promise<ContractDrift> {
  const drift: ContractDrift = { differs: [], missing: [], extra: [] };
  for (const [rel, content] of files) {
    const existing = await readIfExists(path.join(dir, rel));
    if (existing === undefined) drift.missing.push(rel);
    else if (existing !== content) drift.differs.push(rel);
  }
  for (const name of await schemaFilesIn(path.join(dir, EVENTS_DIR))) {
    const rel = `${EVENTS_DIR}/${name}`;
    if (!files.has(rel)) drift.extra.push(rel);
  }
  drift.differs.sort();
  drift.missing.sort();
  drift.extra.sort();
  return drift;
}

/**
 * `kpi schemas export`: writes the JSON Schemas and the AsyncAPI document generated from the
 * zod contracts, and removes schema files of types or versions that no longer exist. With
 * `check` it writes nothing and fails when the folder is out of date.
 */
export async function schemasExportCommand(options: { out?: string; check?: boolean }): Promise<void> {
  const dir = path.resolve(options.out ?? defaultSchemasOutDir());
  const files = renderContractFiles();
  const drift = await contractDrift(dir, files);
  const stale = drift.differs.length + drift.missing.length + drift.extra.length;

  if (options.check) {
    if (stale > 0) {
      const lines = [
        ...drift.differs.map((f) => `  differs: ${f}`),
        ...drift.missing.map((f) => `  missing: ${f}`),
        ...drift.extra.map((f) => `  extra:   ${f}`),
      ];
      const outArg = dir === defaultSchemasOutDir() ? '' : ` --out ${options.out ?? dir}`;
      throw new UsageError(
        `${dir} does not match the event contracts in schemas/events (${stale} file(s)):\n${lines.join('\n')}\nRun \`npx kpi schemas export${outArg}\` to regenerate the files, then commit them.`,
      );
    }
    process.stdout.write(`${files.size} contract file(s) in ${dir} are up to date.\n`);
    return;
  }

  await mkdir(path.join(dir, EVENTS_DIR), { recursive: true });
  for (const rel of [...drift.differs, ...drift.missing]) await writeFile(path.join(dir, rel), files.get(rel) ?? '', 'utf8');
  for (const rel of drift.extra) await rm(path.join(dir, rel));
  process.stdout.write(
    stale === 0
      ? `${files.size} contract file(s) in ${dir} were already up to date.\n`
      : `Wrote ${drift.differs.length + drift.missing.length} and removed ${drift.extra.length} of ${files.size} contract file(s) in ${dir}.\n`,
  );
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function schemaFilesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith(SCHEMA_SUFFIX));
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** Checks the code, not the class: errors from another realm (a test VM) fail `instanceof Error`. */
function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT';
}
