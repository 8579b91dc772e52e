// Compiles the sources kpi runs (schemas, services, workflows, dashboards) into dist/, file
// for file, so `kpi` starts from plain JavaScript: about three times faster than compiling
// the TypeScript on load with tsx, which matters to every short command and to scripts that
// run many. esbuild only strips types here; `npm run typecheck` is what checks them.
//
// bin/kpi.js runs dist/ only while it is as new as every source file (isFresh), so an edited
// source is never shadowed by an old build: kpi falls back to tsx until the next build.
//
//   node scripts/build.js          build when stale (what ensure-deps does)
//   node scripts/build.js --force  build anyway
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The folders compiled; everything `kpi` imports lives in them. */
export const SOURCE_DIRS = ['schemas', 'services', 'workflows', 'dashboards'];
/** Written last: its time is the build's, its absence an unfinished build. */
const STAMP = '.built';

/** Every file under the source folders, as paths relative to the root. */
function sourceFiles(root) {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile()) files.push(rel);
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(path.join(root, dir))) walk(dir);
  return files;
}

/**
 * True when dist/ holds a finished build no older than any source file. Folder times count
 * too: a deleted or renamed source changes its folder's time.
 */
export function isFresh(root = ROOT) {
  const stamp = path.join(root, 'dist', STAMP);
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  const dirs = new Set();
  for (const file of sourceFiles(root)) {
    if (statSync(path.join(root, file)).mtimeMs > built) return false;
    dirs.add(path.dirname(file));
  }
  for (const dir of dirs) if (statSync(path.join(root, dir)).mtimeMs > built) return false;
  return true;
}

/**
 * Builds dist/ afresh: TypeScript files become ES modules of the same path and name with
 * .js, other files (the decoding thread's .js, JSON, CSS) are copied. The build is made
 * beside dist/ and moved into place, so a process starting meanwhile never sees half of it.
 */
export async function build(root = ROOT) {
  const { transform } = await import('esbuild');
  const { readFile, writeFile } = await import('node:fs/promises');
  const started = new Date();
  const next = path.join(root, `dist.next-${process.pid}`);
  rmSync(next, { recursive: true, force: true });
  const files = sourceFiles(root);
  await Promise.all(
    files.map(async (file) => {
      const target = path.join(next, file);
      mkdirSync(path.dirname(target), { recursive: true });
      if (!file.endsWith('.ts') || file.endsWith('.d.ts')) {
        copyFileSync(path.join(root, file), target);
        return;
      }
      const source = await readFile(path.join(root, file), 'utf8');
      const out = await transform(source, { loader: 'ts', format: 'esm', target: 'node20', sourcefile: file });
      await writeFile(target.replace(/\.ts$/, '.js'), out.code);
    }),
  );
  // Stamped with the build's start: a source saved while it ran makes it stale.
  writeFileSync(path.join(next, STAMP), `${started.toISOString()}\n`);
  utimesSync(path.join(next, STAMP), started, started);
  const old = path.join(root, `dist.old-${process.pid}`);
  if (existsSync(path.join(root, 'dist'))) renameSync(path.join(root, 'dist'), old);
  renameSync(next, path.join(root, 'dist'));
  rmSync(old, { recursive: true, force: true });
  return files.length;
}

/** Builds when stale (or always, with force), saying so on stderr. */
export async function buildIfStale(root = ROOT, force = false) {
  if (!force && isFresh(root)) return;
  const t0 = Date.now();
  const count = await build(root);
  console.error(`Compiled ${count} source files into dist/ (${((Date.now() - t0) / 1000).toFixed(1)} s).`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildIfStale(ROOT, process.argv.includes('--force'));
