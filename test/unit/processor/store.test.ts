import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkpointVerdict } from '../../../processor/checkpoint.js';
import { RocksStore, unreadableBecause } from '../../../processor/store.js';
import { readCheckpoint } from '../../../processor/store-layout.js';
import { CHANGELOG_KINDS } from '../../../schemas/changelog.js';

const ROCKSDB5_STORE = new URL('../../fixtures/rocksdb5-store/', import.meta.url).pathname;

/** The OPTIONS file RocksDB wrote last in a store directory (its own record of its settings). */
async function optionsFile(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => n.startsWith('OPTIONS-')).sort();
  return readFile(join(dir, names.at(-1)!), 'utf8');
}

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
    expect(reopened.replaced).toBeUndefined();
    expect(await reopened.get('j|7')).toBeUndefined();
    expect((await reopened.get('j|8'))?.toString()).toBe('job8');
    await reopened.clear();
    expect(await reopened.get('j|8')).toBeUndefined();
    await reopened.close();
  });

  it('scans past one batch of the binding, in key order, keys with any characters', async () => {
    const store = await RocksStore.open(dir);
    const keys = Array.from({ length: 2500 }, (_, i) => `r|${String(i).padStart(5, '0')}`);
    keys.push('r|é', 'r|\u{10ffff}', 'r|😀');
    await store.write(keys.map((key) => ({ key, value: Buffer.from(key) })));
    await store.write([{ key: 's|after', value: Buffer.from('x') }]);
    const scanned: string[] = [];
    for await (const [key, value] of store.scan('r|')) {
      expect(value.toString()).toBe(key);
      scanned.push(key);
    }
    const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(scanned).toEqual(byBytes);
    await store.clear();
    expect(await store.getMany(['r|00000', 'r|\u{10ffff}', 'r|😀', 's|after'])).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    await store.close();
  });

  it('reads the values of a prefix alone, past several batches, and closes when its reader stops early', async () => {
    const store = await RocksStore.open(dir);
    const keys = Array.from({ length: 3500 }, (_, i) => `j|${String(i).padStart(5, '0')}`);
    await store.write(keys.map((key) => ({ key, value: Buffer.from(`v${key}`) })));
    await store.write([
      { key: 'i|before', value: Buffer.from('x') },
      { key: 'k|after', value: Buffer.from('y') },
    ]);
    const values: string[] = [];
    const batches: number[] = [];
    for await (const batch of store.values('j|')) {
      batches.push(batch.length);
      values.push(...batch.map((value) => value.toString()));
    }
    expect(values).toEqual(keys.map((key) => `v${key}`));
    expect(batches.length).toBeGreaterThan(1);
    // A reader that leaves while the next batch is being read ahead: the iterator closes
    // after that read, and the store goes on working and closes cleanly.
    let seen = 0;
    for await (const batch of store.values('j|')) {
      seen += batch.length;
      break;
    }
    expect(seen).toBe(batches[0]);
    expect((await store.get('k|after'))?.toString()).toBe('y');
    await store.close();
  });

  it('writes keys given as bytes as the same keys as their text', async () => {
    const store = await RocksStore.open(dir);
    await store.write([
      { key: Buffer.from('r|é1'), value: Buffer.from('bytes') },
      { key: 'r|é2', value: Buffer.from('text') },
    ]);
    await store.write([{ key: Buffer.from('r|é2'), value: null }]);
    expect((await store.get('r|é1'))?.toString()).toBe('bytes');
    expect(await store.get('r|é2')).toBeUndefined();
    await store.close();
  });

  it('keeps values byte for byte, whatever the bytes (Avro is no text)', async () => {
    const store = await RocksStore.open(dir);
    const every = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
    const invalidUtf8 = Buffer.from([0xff, 0xfe, 0x80, 0xc3, 0x28, 0x00]);
    await store.write([
      { key: 'r|every', value: every },
      { key: 'r|invalid', value: invalidUtf8 },
      { key: 'r|slice', value: every.subarray(100, 120) },
    ]);
    const read = await store.getMany(['r|every', 'r|invalid', 'r|slice']);
    expect(read.map((b) => b?.toString('hex'))).toEqual(
      [every, invalidUtf8, every.subarray(100, 120)].map((b) => b.toString('hex')),
    );
    const scanned = new Map<string, string>();
    for await (const [key, value] of store.scan('r|')) scanned.set(key, value.toString('hex'));
    expect(scanned.get('r|invalid')).toBe('fffe80c32800');
    expect(scanned.get('r|every')).toBe(every.toString('hex'));
    await store.close();
  });

  it('does not keep memory per write: RSS stays flat over 150 MB written to the same keys', async () => {
    const store = await RocksStore.open(dir, { cacheBytes: 2 << 20, writeBufferBytes: 2 << 20 });
    const value = Buffer.alloc(300, 7);
    const ops = Array.from({ length: 500 }, (_, i) => ({ key: `r|${i}`, value }));
    await store.write(ops);
    const before = process.memoryUsage().rss;
    for (let round = 0; round < 1000; round++) await store.write(ops);
    const grewMb = (process.memoryUsage().rss - before) / 1e6;
    await store.close();
    // A WriteBatch per write, never freed, grew it by over 200 MB here; reused, by under 20.
    expect(grewMb).toBeLessThan(80);
  });

  it('applies the write buffer it is given (RocksDB records it in the OPTIONS file)', async () => {
    const store = await RocksStore.open(dir, { cacheBytes: 1 << 20, writeBufferBytes: 3 << 20 });
    await store.close();
    const options = await optionsFile(dir);
    expect(options).toMatch(/^\s*write_buffer_size=3145728$/m);
    expect(options).toMatch(/^\s*max_write_buffer_number=6$/m);
    expect(options).toMatch(/^\s*min_write_buffer_number_to_merge=2$/m);
    expect(options).not.toMatch(/Snappy/);
    expect(unreadableBecause(options)).toBeUndefined();
  });

  it('a second open of an open store fails with the lock named (the task retries on it)', async () => {
    const store = await RocksStore.open(dir);
    await expect(RocksStore.open(dir)).rejects.toThrow(/state store open failed at .*lock/i);
    await store.close();
  });

  it('a store written by rocksdb@5 is removed and starts empty, so the task restores it in full', async () => {
    const before = await optionsFile(ROCKSDB5_STORE);
    expect(unreadableBecause(before)).toMatch(/RocksDB 6\.17\.3 with Snappy compression/);
    await cp(ROCKSDB5_STORE, dir, { recursive: true });

    const store = await RocksStore.open(dir);
    expect(store.replaced).toMatch(/written by RocksDB 6\.17\.3 with Snappy/);
    // Nothing of the old store is read back (no half-readable store), and it has no checkpoint.
    expect(await store.getMany(['r|00000', 'r|01499', 'd|delivery-1', 'c|runs'])).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    const checkpoint = await readCheckpoint(store);
    expect(checkpoint.offsets.size).toBe(0);
    const ends = new Map(CHANGELOG_KINDS.map((kind) => [kind, { low: 0n, high: 2000n }]));
    const verdict = checkpointVerdict({ checkpoint, ends, now: 1_767_225_600_000 });
    expect(verdict.mode).toBe('full');
    expect([...verdict.from.values()]).toEqual(CHANGELOG_KINDS.map(() => 0n));

    // The new store works, and is not replaced again when reopened.
    await store.write([{ key: 'r|00000', value: Buffer.from('restored') }]);
    await store.close();
    const reopened = await RocksStore.open(dir);
    expect(reopened.replaced).toBeUndefined();
    expect((await reopened.get('r|00000'))?.toString()).toBe('restored');
    await reopened.close();
  });
});
