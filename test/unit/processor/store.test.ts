import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RocksStore } from '../../../processor/store.js';

describe('RocksStore (real RocksDB)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runstream-rocks-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes atomically, reads back, scans by prefix and survives a reopen', async () => {
    const store = await RocksStore.open(dir);
    await store.write([
      { key: 'r|1:1', value: Buffer.from('run') },
      { key: 'j|7', value: Buffer.from('job7') },
      { key: 'j|8', value: Buffer.from('job8') },
      { key: 'jx', value: Buffer.from('other') },
    ]);
    expect((await store.get('r|1:1'))?.toString()).toBe('run');
    expect(await store.get('missing')).toBeUndefined();
    expect((await store.getMany(['j|7', 'nope', 'j|8'])).map((b) => b?.toString())).toEqual([
      'job7',
      undefined,
      'job8',
    ]);
    const scanned: string[] = [];
    for await (const [key, value] of store.scan('j|')) scanned.push(`${key}=${value.toString()}`);
    expect(scanned).toEqual(['j|7=job7', 'j|8=job8']);
    await store.write([{ key: 'j|7', value: null }]);
    await store.close();

    const reopened = await RocksStore.open(dir);
    expect(await reopened.get('j|7')).toBeUndefined();
    expect((await reopened.get('j|8'))?.toString()).toBe('job8');
    await reopened.clear();
    expect(await reopened.get('j|8')).toBeUndefined();
    await reopened.close();
  });
});
