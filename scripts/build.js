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
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The folders compiled; everything `kpi` imports lives in them. */
export const SOURCE_DIRS = ['schemas', 'services', 'workflows', 'dashboards'];
/** Written last: its time is the build's, its absence an unfinished build. */
const STAMP = '.built';

/** Every file and folder under the source folders (the folders themselves included), as paths relative to the root. */
function sourceTree(root) {
  const files = [];
  const dirs = [];
  const walk = (dir) => {
    dirs.push(dir);
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile()) files.push(rel);
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(path.join(root, dir))) walk(dir);
  return { files, dirs };
}

/**
 * True when dist/ holds a finished build no older than any source file or folder: a
 * deleted or renamed file or folder changes its folder's time. Anything that cannot be
 * read (a file saved and removed meanwhile) counts as stale.
 */
export function isFresh(root = ROOT) {
  try {
    const stamp = path.join(root, 'dist', STAMP);
    if (!existsSync(stamp)) return false;
    const built = statSync(stamp).mtimeMs;
    const { files, dirs } = sourceTree(root);
    return [...files, ...dirs].every((p) => statSync(path.join(root, p)).mtimeMs <= built);
  } catch {
    return false;
  }
}

/** Alive: signal 0 reaches it. */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` while holding dist.lock, a folder naming its holder's pid: two builds at once
 * (`npm test` beside `npm run demo`) would move each other's dist/ away. A dead holder's
 * lock is taken over; a live one is waited for, up to 2 minutes.
 */
async function withBuildLock(root, fn) {
  const lock = path.join(root, 'dist.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let holder = 0;
      try {
        holder = Number(readFileSync(path.join(lock, 'pid'), 'utf8')) || 0;
      } catch {
        // Not written yet, or the lock is going away.
      }
      if (holder > 0 && !alive(holder)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`another build holds ${lock} for over 2 minutes (pid ${holder || 'unknown'}); remove it if no build runs`);
      else await sleep(200);
    }
  }
  try {
    writeFileSync(path.join(lock, 'pid'), String(process.pid));
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Builds dist/ afresh: TypeScript files become ES modules of the same path and name with
 * .js, other files (the decoding thread's .js, JSON, CSS) are copied. The build is made
 * beside dist/ and moved into place, so a process starting meanwhile never sees half of it.
 * Imports are kept as written (verbatimModuleSyntax, as tsconfig.json and tsx have it).
 */
export async function build(root = ROOT) {
  return withBuildLock(root, () => buildUnlocked(root));
}

async function buildUnlocked(root) {
  const { transform } = await import('esbuild');
  const { readFile, writeFile } = await import('node:fs/promises');
  // A second before the start: a file's time comes from a coarser clock than Date's, and a
  // source saved while the build runs must make it stale.
  const started = new Date(Date.now() - 1_000);
  const next = path.join(root, `dist.next-${process.pid}`);
  const old = path.join(root, `dist.old-${process.pid}`);
  try {
    rmSync(next, { recursive: true, force: true });
    const { files } = sourceTree(root);
    await Promise.all(
      files.map(async (file) => {
        const target = path.join(next, file);
        mkdirSync(path.dirname(target), { recursive: true });
        if (!file.endsWith('.ts') || file.endsWith('.d.ts')) {
          copyFileSync(path.join(root, file), target);
          return;
        }
        const source = await readFile(path.join(root, file), 'utf8');
        const out = await transform(source, { loader: 'ts', format: 'esm', target: 'node20', sourcefile: file, tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } } });
        await writeFile(target.replace(/\.ts$/, '.js'), out.code);
      }),
    );
    writeFileSync(path.join(next, STAMP), `${started.toISOString()}\n`);
    utimesSync(path.join(next, STAMP), started, started);
    if (existsSync(path.join(root, 'dist'))) renameSync(path.join(root, 'dist'), old);
    renameSync(next, path.join(root, 'dist'));
    return files.length;
  } finally {
    rmSync(next, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

/**
 * Builds when stale (or always, with force), saying so on stderr. Staleness is asked again
 * once the lock is held: a build that ran meanwhile may have made dist/ fresh.
 */
export async function buildIfStale(root = ROOT, force = false) {
  if (!force && isFresh(root)) return;
  await withBuildLock(root, async () => {
    if (!force && isFresh(root)) return;
    const t0 = Date.now();
    const count = await buildUnlocked(root);
    console.error(`Compiled ${count} source files into dist/ (${((Date.now() - t0) / 1000).toFixed(1)} s).`);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildIfStale(ROOT, process.argv.includes('--force'));
