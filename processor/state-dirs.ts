// Where a processor keeps its partitions' stores, and which of them hold state worth
// keeping: `<state dir>/<group>/partition-<p>` is a partition's RocksDB store, and
// `partition-<p>.warm` beside it says that store holds a complete checkpoint. The task
// writes the marker once a restore finished and removes it before it clears the store, so
// a store opened and given up before its first restore (a partition assigned and revoked
// within a second, as when a group forms) is not taken for warm state by the assignor.
import { readdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const STORE = /^partition-(\d+)$/;
const MARKER = /^partition-(\d+)\.warm$/;

export function partitionDir(stateDir: string, groupId: string, partition: number): string {
  return join(stateDir, groupId, `partition-${partition}`);
}

/** Marks a partition's store as holding a complete checkpoint (after its restore). */
export function markWarm(stateDir: string, groupId: string, partition: number): Promise<void> {
  return writeFile(`${partitionDir(stateDir, groupId, partition)}.warm`, '');
}

/** Before the store is cleared: until its restore ends, it holds nothing to keep. */
export function unmarkWarm(stateDir: string, groupId: string, partition: number): Promise<void> {
  return rm(`${partitionDir(stateDir, groupId, partition)}.warm`, { force: true });
}

/**
 * Partitions with a warm store here (a restore from the checkpoint, not a full one). A
 * directory written before markers existed has none: there every store counts, as before.
 */
export function partitionsWithState(stateDir: string, groupId: string): number[] {
  let names: string[];
  try {
    names = readdirSync(join(stateDir, groupId));
  } catch {
    return [];
  }
  const of = (pattern: RegExp) =>
    names
      .map((name) => pattern.exec(name)?.[1])
      .filter((p): p is string => p !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  const stores = of(STORE);
  const marked = new Set(of(MARKER));
  return marked.size === 0 ? stores : stores.filter((p) => marked.has(p));
}
