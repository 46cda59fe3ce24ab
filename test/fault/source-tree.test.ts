// The suite's check that every role runs the sources it loaded its oracle from, on a git
// repository of its own (no cluster).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sourceTree, treeChange } from './source-tree.js';

let dir: string;
const git = (...args: string[]) =>
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    stdio: 'ignore',
  });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'runstream-source-tree-'));
  git('init', '-q');
  await writeFile(join(dir, 'oracle.ts'), 'export const families = 8;\n');
  git('add', '.');
  git('commit', '-q', '-m', 'first');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('treeChange', () => {
  it('finds nothing while the tree stays as loaded, untracked files (run logs) included', async () => {
    const loaded = sourceTree(dir);
    expect(loaded?.head).toMatch(/^[0-9a-f]{40}$/);
    await writeFile(join(dir, 'p1.log'), 'a run writes its logs here\n');
    expect(treeChange(loaded, sourceTree(dir))).toBeUndefined();
  });

  it('names both commits after a merge or checkout moved the tree', async () => {
    const loaded = sourceTree(dir)!;
    await writeFile(join(dir, 'oracle.ts'), 'export const families = 10;\n');
    git('commit', '-q', '-am', 'merge: two more families');
    const now = sourceTree(dir)!;
    expect(now.head).not.toBe(loaded.head);
    expect(treeChange(loaded, now)).toBe(
      `its commit moved from ${loaded.head.slice(0, 12)} to ${now.head.slice(0, 12)} (a merge or checkout)`,
    );
  });

  it('sees an edit of a tracked file, and a further edit of an already edited one', async () => {
    const clean = sourceTree(dir);
    await writeFile(join(dir, 'oracle.ts'), 'export const families = 9;\n');
    const edited = sourceTree(dir);
    expect(treeChange(clean, edited)).toMatch(/uncommitted changes differ/);
    await writeFile(join(dir, 'oracle.ts'), 'export const families = 10;\n');
    expect(treeChange(edited, sourceTree(dir))).toMatch(/uncommitted changes differ/);
  });

  it('cannot judge a tree git does not describe, and says when only one side is known', async () => {
    const bare = await mkdtemp(join(tmpdir(), 'runstream-no-git-'));
    try {
      expect(sourceTree(bare)).toBeUndefined();
      expect(treeChange(undefined, undefined)).toBeUndefined();
      expect(treeChange(sourceTree(dir), undefined)).toMatch(/no longer describes/);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });
});
