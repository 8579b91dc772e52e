import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, tempDir } from '../../support/env.js';
// @ts-expect-error: a plain JavaScript script, without type declarations.
import { build, isFresh } from '../../../scripts/build.js';

const buildDist = build as (root: string) => Promise<number>;
const fresh = isFresh as (root: string) => boolean;

/** A small checkout: one folder of each compiled kind, a module importing another, a thread file and JSON. */
function checkout(): string {
  const root = tempDir('build');
  mkdirSync(path.join(root, 'services', 'shared'), { recursive: true });
  mkdirSync(path.join(root, 'schemas'), { recursive: true });
  writeFileSync(path.join(root, 'services', 'shared', 'twice.ts'), 'export const twice = (n: number): number => n * 2;\n');
  writeFileSync(path.join(root, 'services', 'main.ts'), "import type { Buffer } from 'node:buffer';\nimport { twice } from './shared/twice.js';\nconst b: Buffer | undefined = undefined;\nconsole.log(twice(21), b);\n");
  writeFileSync(path.join(root, 'services', 'thread.js'), 'export const plain = true;\n');
  writeFileSync(path.join(root, 'schemas', 'shape.json'), '{"a":1}\n');
  settle(root);
  return root;
}

/** Dates every source file and folder a minute back, so a build made now is newer than all of it. */
function settle(root: string): void {
  const before = new Date(Date.now() - 60_000);
  const walk = (rel: string): void => {
    const full = path.join(root, rel);
    if (statSync(full).isDirectory()) for (const name of readdirSync(full)) walk(path.join(rel, name));
    utimesSync(full, before, before);
  };
  for (const dir of ['services', 'schemas']) if (existsSync(path.join(root, dir))) walk(dir);
}

/** Marks a file or folder changed now. */
async function touch(file: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 30));
  const now = new Date();
  utimesSync(file, now, now);
}

describe('compiled sources (scripts/build.js)', () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

  it('compiles every TypeScript file beside its path, copies the rest, and the output runs', async () => {
    const root = checkout();
    roots.push(root);
    expect(fresh(root)).toBe(false);
    expect(await buildDist(root)).toBe(4);
    expect(['services/main.js', 'services/shared/twice.js', 'services/thread.js', 'schemas/shape.json'].filter((f) => !existsSync(path.join(root, 'dist', f)))).toEqual([]);
    expect(readFileSync(path.join(root, 'dist', 'schemas', 'shape.json'), 'utf8')).toBe('{"a":1}\n');
    const run = spawnSync(process.execPath, [path.join(root, 'dist', 'services', 'main.js')], { encoding: 'utf8' });
    expect({ code: run.status, out: run.stdout.trim(), err: run.stderr }).toEqual({ code: 0, out: '42 undefined', err: '' });
    expect(fresh(root)).toBe(true);
  });

  it('is stale once a source is newer, a source is added or removed, or the build is unfinished', async () => {
    const root = checkout();
    roots.push(root);
    await buildDist(root);
    await touch(path.join(root, 'services', 'shared', 'twice.ts'));
    expect(fresh(root)).toBe(false);

    settle(root);
    await buildDist(root);
    expect(fresh(root)).toBe(true);
    await touch(path.join(root, 'schemas'));
    writeFileSync(path.join(root, 'schemas', 'new.ts'), 'export {};\n');
    expect(fresh(root)).toBe(false);

    settle(root);
    await buildDist(root);
    expect(fresh(root)).toBe(true);
    await touch(path.join(root, 'schemas'));
    rmSync(path.join(root, 'schemas', 'new.ts'));
    expect(fresh(root)).toBe(false);

    settle(root);
    await buildDist(root);
    expect(existsSync(path.join(root, 'dist', 'schemas', 'new.js'))).toBe(false);
    expect(fresh(root)).toBe(true);
    // A whole folder removed: only its parent's time tells.
    await touch(path.join(root, 'services'));
    rmSync(path.join(root, 'services', 'shared'), { recursive: true });
    expect(fresh(root)).toBe(false);

    settle(root);
    await buildDist(root);
    rmSync(path.join(root, 'dist', '.built'));
    expect(fresh(root)).toBe(false);
  });

  it('lets two builds run at once, one after the other, leaving nothing beside dist/', async () => {
    const root = checkout();
    roots.push(root);
    expect(await Promise.all([buildDist(root), buildDist(root)])).toEqual([4, 4]);
    expect(fresh(root)).toBe(true);
    expect(readdirSync(root).filter((name) => name.startsWith('dist')).sort()).toEqual(['dist']);
  });

  it('is what the image runs: the Dockerfile compiles after copying the sources', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const last = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const copied = ['schemas', 'services', 'workflows', 'dashboards'].map((dir) => last.indexOf(`/src/${dir} ./${dir}`));
    const compiled = last.indexOf('RUN node scripts/build.js');
    expect(copied.filter((at) => at < 0)).toEqual([]);
    expect(compiled).toBeGreaterThan(Math.max(...copied));
    expect(last.indexOf('USER node')).toBeGreaterThan(compiled);
  });
});
