// A temporary directory for the tests of one describe block (or file): made before
// them, removed after them, also when they fail.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** Registers the directory's hooks; the returned function gives paths inside it. */
export function useTempDir(prefix: string): (...parts: string[]) => string {
  let root: string | undefined;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });
  return (...parts) => {
    if (!root) throw new Error(`temporary directory ${prefix} used outside its tests`);
    return join(root, ...parts);
  };
}
