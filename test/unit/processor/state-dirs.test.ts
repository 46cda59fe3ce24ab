// Which partitions' stores the assignor is told are warm: marked ones only, or every
// store in a directory from before the markers.
import { mkdir, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { markWarm, partitionDir, partitionsWithState, unmarkWarm } from '../../../processor/state-dirs.js';
import { useTempDir } from '../../support/temp-dir.js';

const dir = useTempDir('runstream-state-dirs-');

describe('partitionsWithState', () => {
  it('is empty without a directory for the group', () => {
    expect(partitionsWithState(dir('none'), 'g')).toEqual([]);
  });

  it('counts only marked stores: one opened and given up before its restore is not warm', async () => {
    const stateDir = dir('marked');
    for (const p of [0, 1, 2, 11]) await mkdir(partitionDir(stateDir, 'g', p), { recursive: true });
    await markWarm(stateDir, 'g', 11);
    await markWarm(stateDir, 'g', 1);
    expect(partitionsWithState(stateDir, 'g')).toEqual([1, 11]);
    // A full restore starting clears the mark; a mark without its store counts for nothing.
    await unmarkWarm(stateDir, 'g', 1);
    await writeFile(`${partitionDir(stateDir, 'g', 7)}.warm`, '');
    expect(partitionsWithState(stateDir, 'g')).toEqual([11]);
    await unmarkWarm(stateDir, 'g', 5); // none: no error
  });

  it('counts every store of a directory written before markers existed', async () => {
    const stateDir = dir('legacy');
    for (const p of [3, 0, 10]) await mkdir(partitionDir(stateDir, 'g', p), { recursive: true });
    await writeFile(`${dir('legacy', 'g')}/notes.txt`, '');
    expect(partitionsWithState(stateDir, 'g')).toEqual([0, 3, 10]);
  });
});
