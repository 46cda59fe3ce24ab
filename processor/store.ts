// The processor's key-value store interface, and its RocksDB adapter over
// @nxtedition/rocksdb (the rocksdb package is unmaintained and aborts on Node 22+);
// nothing outside this file touches the binding.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** A put (value) or delete (null); a Buffer key is the key's UTF-8 bytes, as a restore copies them. */
export type WriteOp = { key: string | Buffer; value: Buffer | null };

export interface KeyValueStore {
  get(key: string): Promise<Buffer | undefined>;
  getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>>;
  /** Applies every put (value) and delete (null) atomically. */
  write(ops: readonly WriteOp[]): Promise<void>;
  /** Entries whose key starts with prefix, in key order. */
  scan(prefix: string): AsyncIterable<[string, Buffer]>;
  /** The values of scan(prefix) alone (no key read or decoded), a batch at a time. */
  values(prefix: string): AsyncIterable<readonly Buffer[]>;
  /** Removes every entry whose key starts with prefix (one range deletion). */
  clearPrefix(prefix: string): Promise<void>;
  /** Removes every entry. */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  constructor(
    readonly operation: string,
    readonly location: string,
    cause: unknown,
  ) {
    super(`state store ${operation} failed at ${location}: ${describe(cause)}`, { cause });
    this.name = 'StoreError';
  }
}

/** The binding wraps RocksDB's status in its own error ("Database is not open"): say both. */
function describe(error: unknown): string {
  const messages: string[] = [];
  for (let e = error; e !== undefined && e !== null && messages.length < 4; e = (e as Error).cause) {
    messages.push((e as Error)?.message ?? String(e));
  }
  return messages.join(': ');
}

/** What the store adapter uses of @nxtedition/rocksdb (an abstract-level database). */
interface RocksLevel {
  open(): Promise<void>;
  getMany(keys: string[], options: { valueEncoding: 'buffer' }): Promise<Array<Buffer | undefined>>;
  /** The binding's own write batch (below abstract-level's state machine): see write(). */
  _chainedBatch(): RocksWriteBatch;
  iterator(options: {
    gte: Buffer;
    lt: Buffer;
    keys?: boolean;
    keyEncoding: 'buffer';
    valueEncoding: 'buffer';
  }): RocksIterator;
  clear(options: { gte: Buffer; lt: Buffer; keyEncoding: 'buffer' }): Promise<void>;
  close(): Promise<void>;
}

/** @nxtedition/rocksdb 12.2.12's ChainedBatch: a RocksDB WriteBatch, written synchronously. */
interface RocksWriteBatch {
  _clear(): void;
  _put(key: string | Buffer, value: Buffer, options: Record<string, never>): void;
  _del(key: string | Buffer, options: Record<string, never>): void;
  _writeSync(options: Record<string, never>): void;
}

interface RocksIterator {
  /** Up to size entries in key order (keys undefined if not asked for); none once the range is exhausted. */
  nextv(size: number): Promise<Array<[Buffer, Buffer]>>;
  close(): Promise<void>;
}

/** The binding's open options this adapter sets (binding.cc InitOptions, db_open). */
export interface RocksOptions {
  createIfMissing: true;
  /** The binding compresses its write-ahead log with ZSTD by default, on the event loop. */
  walCompression: false;
  /** Block cache (a HyperClockCache) of this store. */
  cacheSize: number;
  /** Leveled compaction tuned from memtableMemoryBudget: see rocksOptions. */
  compaction: 'level';
  memtableMemoryBudget: number;
}

const require = createRequire(import.meta.url);
const { RocksLevel } = require('@nxtedition/rocksdb') as {
  RocksLevel: new (location: string, options: RocksOptions) => RocksLevel;
};

/** RocksDB's defaults, which the rocksdb@5 binding used: 8 MiB cache, 4 MiB write buffer. */
const DEFAULT_CACHE_BYTES = 8 * 1024 * 1024;
const DEFAULT_WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * The binding sets no write buffer size of its own choosing except through a memtable
 * budget with a compaction style; without one each store gets RocksDB's 64 MiB buffers.
 * 'level' with a budget of four write buffers gives: write buffers of writeBufferBytes,
 * flushed two at a time, at most six (writes stall there); L0 compacted from two files;
 * L1 of the budget's size, files of half a buffer; L0 and L1 uncompressed, deeper levels
 * ZSTD (the binding's build has no Snappy). Bloom filters of 10 bits per key, as before.
 * The write-ahead log uncompressed: the binding writes synchronously on the event loop,
 * and ZSTD over every batch's log record cost a restore more than the memtable inserts;
 * the log is deleted once its memtables are flushed, so its size is a few write buffers.
 */
export function rocksOptions(memory: { cacheBytes?: number; writeBufferBytes?: number }): RocksOptions {
  return {
    createIfMissing: true,
    walCompression: false,
    cacheSize: memory.cacheBytes ?? DEFAULT_CACHE_BYTES,
    compaction: 'level',
    memtableMemoryBudget: 4 * (memory.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES),
  };
}

/**
 * Why an existing store directory cannot be read by this build, from the OPTIONS file
 * RocksDB writes beside its data; undefined when it can (or there is none). The
 * rocksdb@5 binding (RocksDB 6) compressed with Snappy, which this RocksDB build lacks:
 * opening such a store fails, or worse, its first read of an old block does.
 */
export function unreadableBecause(optionsFile: string): string | undefined {
  if (!/=\s*kSnappyCompression\b|:kSnappyCompression\b/.test(optionsFile)) return undefined;
  const version = /^\s*rocksdb_version=(\S+)/m.exec(optionsFile)?.[1] ?? 'an unknown version';
  return `written by RocksDB ${version} with Snappy compression, which this build cannot read`;
}

async function latestOptionsFile(location: string): Promise<string | undefined> {
  const names = (await readdir(location)).filter((name) => /^OPTIONS-\d+$/.test(name));
  const latest = names.sort((a, b) => Number(a.slice(8)) - Number(b.slice(8))).at(-1);
  return latest === undefined ? undefined : readFile(join(location, latest), 'utf8');
}

/** Bytes greater than the UTF-8 of every string starting with prefix (UTF-8 has no 0xff). */
function prefixEnd(prefix: string): Buffer {
  return Buffer.concat([Buffer.from(prefix), Buffer.from([0xff])]);
}

/** Every key is a string: its UTF-8 bytes never start with 0xff. */
const EVERY_KEY = { gte: Buffer.alloc(0), lt: Buffer.from([0xff]), keyEncoding: 'buffer' } as const;

const SCAN_BATCH = 1000;

const NO_OPTIONS: Record<string, never> = {};

export class RocksStore implements KeyValueStore {
  private constructor(
    private readonly db: RocksLevel,
    readonly location: string,
    /** Why the directory's previous store was removed (this one starts empty), if it was. */
    readonly replaced: string | undefined,
  ) {
    this.batch = db._chainedBatch();
  }

  /**
   * One WriteBatch for every write of this store. The binding makes a new one per
   * batch() and frees it only when V8 finalizes its wrapper, which in practice it
   * does not: RSS grew by about 1.4 times the bytes written, without bound (+404 MB for
   * 1920 batches of 500 puts to 500 keys); reused, +22 MB.
   */
  private readonly batch: RocksWriteBatch;

  /**
   * Opens (creating) a store; memory sizes default to RocksDB's (8 MiB cache, 4 MiB
   * buffer). A store this build cannot read (one written by the rocksdb@5 binding) is
   * removed and an empty one created: the changelogs hold everything it held, and an
   * empty store has no checkpoint, so the task restores it in full.
   */
  static async open(
    location: string,
    memory: { cacheBytes?: number; writeBufferBytes?: number } = {},
  ): Promise<RocksStore> {
    await mkdir(location, { recursive: true });
    const options = await latestOptionsFile(location).catch((error: unknown) => {
      throw new StoreError('open', location, error);
    });
    const replaced = options === undefined ? undefined : unreadableBecause(options);
    if (replaced !== undefined) {
      await rm(location, { recursive: true, force: true });
      await mkdir(location, { recursive: true });
    }
    const db = new RocksLevel(location, rocksOptions(memory));
    await db.open().catch((error: unknown) => {
      throw new StoreError('open', location, error);
    });
    return new RocksStore(db, location, replaced);
  }

  async get(key: string): Promise<Buffer | undefined> {
    // A multi-get of one: a missing key is undefined, not a NotFound error to build and match.
    const [value] = await this.getMany([key]);
    return value;
  }

  getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.call('getMany', () => this.db.getMany([...keys], { valueEncoding: 'buffer' }));
  }

  /** Synchronous inside (the binding's batch write is): filled and written in one turn. */
  write(ops: readonly WriteOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return this.call('write', async () => {
      const batch = this.batch;
      batch._clear();
      // Values go in as the bytes they are (abstract-level's default would make text of them).
      for (const op of ops) {
        if (op.value === null) batch._del(op.key, NO_OPTIONS);
        else batch._put(op.key, op.value, NO_OPTIONS);
      }
      batch._writeSync(NO_OPTIONS);
      batch._clear();
    });
  }

  async *scan(prefix: string): AsyncIterable<[string, Buffer]> {
    for await (const entries of this.entries(prefix, true)) {
      for (const [key, value] of entries) yield [key.toString('utf8'), value];
    }
  }

  /**
   * A recount reads every run and job: without keys, RocksDB copies half as many buffers
   * and none is decoded; a batch at a time, not one asynchronous step per value.
   */
  async *values(prefix: string): AsyncIterable<readonly Buffer[]> {
    for await (const entries of this.entries(prefix, false)) yield entries.map(([, value]) => value);
  }

  private async *entries(prefix: string, keys: boolean): AsyncIterable<Array<[Buffer, Buffer]>> {
    const iterator = this.db.iterator({
      gte: Buffer.from(prefix),
      lt: prefixEnd(prefix),
      keys,
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    const next = () => {
      const read = this.call('scan', () => iterator.nextv(SCAN_BATCH));
      // Awaited below (or at the end); until then a failure is not unhandled.
      read.catch(() => undefined);
      return read;
    };
    let ahead: Promise<Array<[Buffer, Buffer]>> | undefined;
    try {
      ahead = next();
      while (true) {
        const entries = await ahead;
        ahead = undefined;
        if (entries.length === 0) return;
        // The next entries are read on the binding's thread while the caller works on these.
        ahead = next();
        yield entries;
      }
    } finally {
      // The iterator closes once no read is in flight (a caller may stop early).
      await ahead?.catch(() => undefined);
      await this.call('scan-end', () => iterator.close());
    }
  }

  clearPrefix(prefix: string): Promise<void> {
    return this.call('clear', () =>
      this.db.clear({ gte: Buffer.from(prefix), lt: prefixEnd(prefix), keyEncoding: 'buffer' }),
    );
  }

  /** One range deletion over every key. */
  clear(): Promise<void> {
    return this.call('clear', () => this.db.clear(EVERY_KEY));
  }

  close(): Promise<void> {
    return this.call('close', () => this.db.close());
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new StoreError(operation, this.location, error);
    }
  }
}
