// Which sources a fault run tests. The fleet spawns every role from the working tree's
// TypeScript sources (fleet.ts), while the suite's oracle and stream generator were loaded
// once, when the suite started. A merge or checkout into that tree during a run makes a
// run of two versions whose verdict says nothing about either: the broker-kill "exact
// NEVER" of 2026-12-06 18:46 was one (main took a merge at 18:46:24, between the start of
// the scenario's ingest and of its exporters; the new roles served
// github_actions_runners_busy and jobs_flaky_total, which the suite's older oracle did not
// expect). So the suite notes the tree when it loads and refuses to start a role from
// another one.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

export interface SourceTree {
  /** The commit checked out. */
  head: string;
  /** A digest of the uncommitted changes to tracked files (empty string: none). */
  changes: string;
}

/** The tree at `root` now, or undefined where git cannot say (no repository, no git). */
export function sourceTree(root: string): SourceTree | undefined {
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 256 * 1024 * 1024,
    });
  try {
    const head = git('rev-parse', 'HEAD').trim();
    const diff = git('diff', 'HEAD', '--no-ext-diff', '--binary');
    return { head, changes: diff === '' ? '' : createHash('sha256').update(diff).digest('hex') };
  } catch {
    return undefined;
  }
}

/** Why `now` is not the tree the suite loaded, in words; undefined when it is (or neither is known). */
export function treeChange(loaded: SourceTree | undefined, now: SourceTree | undefined): string | undefined {
  if (!loaded && !now) return undefined;
  if (!loaded || !now) return `git ${loaded ? 'no longer' : 'only now'} describes the source tree`;
  if (loaded.head !== now.head) {
    return `its commit moved from ${loaded.head.slice(0, 12)} to ${now.head.slice(0, 12)} (a merge or checkout)`;
  }
  if (loaded.changes !== now.changes) {
    return `its uncommitted changes differ (files edited at ${loaded.head.slice(0, 12)})`;
  }
  return undefined;
}
