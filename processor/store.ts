// The processor's key-value store interface, and its RocksDB adapter. The rocksdb
// package is unmaintained upstream, so nothing outside this file touches it.
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';

export type WriteOp = { key: string; value: Buffer | null };

export interface KeyValueStore {
  get(key: string): Promise<Buffer | undefined>;
  getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>>;
  /** Applies every put (value) and delete (null) atomically. */
  write(ops: readonly WriteOp[]): Promise<void>;
  /** Entries whose key starts with prefix, in key order. */
  scan(prefix: string): AsyncIterable<[string, Buffer]>;
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
    super(`state store ${operation} failed at ${location}: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
    this.name = 'StoreError';
  }
}

type Callback<T = void> = (error: Error | null | undefined, value?: T) => void;

interface RocksIterator {
  next(callback: (error: Error | undefined, key?: Buffer, value?: Buffer) => void): void;
  end(callback: Callback): void;
}

interface RocksDb {
  open(
    options: {
      createIfMissing: boolean;
      errorIfExists?: boolean;
      cacheSize?: number;
      writeBufferSize?: number;
    },
    callback: Callback,
  ): void;
  getMany(keys: string[], options: { asBuffer: true }, callback: Callback<Array<Buffer | undefined>>): void;
  batch(
    ops: Array<{ type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }>,
    callback: Callback,
  ): void;
  iterator(options: { gte: string; lt: string; keyAsBuffer: true; valueAsBuffer: true }): RocksIterator;
  clear(options: Record<string, never>, callback: Callback): void;
  close(callback: Callback): void;
}

const require = createRequire(import.meta.url);
const rocksdb = require('rocksdb') as (location: string) => RocksDb;

function call<T = void>(
  operation: string,
  location: string,
  fn: (callback: Callback<T>) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((error, value) => (error ? reject(new StoreError(operation, location, error)) : resolve(value as T)));
  });
}

/** The smallest string greater than every string starting with prefix. */
function prefixEnd(prefix: string): string {
  return `${prefix}\uffff`;
}

export class RocksStore implements KeyValueStore {
  private constructor(
    private readonly db: RocksDb,
    readonly location: string,
  ) {}

  /** Opens (creating) a store; memory sizes default to RocksDB's (8 MiB cache, 4 MiB buffer). */
  static async open(
    location: string,
    memory: { cacheBytes?: number; writeBufferBytes?: number } = {},
  ): Promise<RocksStore> {
    await mkdir(location, { recursive: true });
    const db = rocksdb(location);
    await call('open', location, (cb) =>
      db.open(
        {
          createIfMissing: true,
          ...(memory.cacheBytes === undefined ? {} : { cacheSize: memory.cacheBytes }),
          ...(memory.writeBufferBytes === undefined ? {} : { writeBufferSize: memory.writeBufferBytes }),
        },
        cb,
      ),
    );
    return new RocksStore(db, location);
  }

  async get(key: string): Promise<Buffer | undefined> {
    // A multi-get of one: a missing key is undefined, not a NotFound error to build and match.
    const [value] = await this.getMany([key]);
    return value;
  }

  getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return Promise.resolve([]);
    return call('getMany', this.location, (cb) => this.db.getMany([...keys], { asBuffer: true }, cb));
  }

  write(ops: readonly WriteOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    const batch = ops.map((op) =>
      op.value === null
        ? { type: 'del' as const, key: op.key }
        : { type: 'put' as const, key: op.key, value: op.value },
    );
    return call('write', this.location, (cb) => this.db.batch(batch, cb));
  }

  async *scan(prefix: string): AsyncIterable<[string, Buffer]> {
    const iterator = this.db.iterator({
      gte: prefix,
      lt: prefixEnd(prefix),
      keyAsBuffer: true,
      valueAsBuffer: true,
    });
    try {
      while (true) {
        const entry = await new Promise<[Buffer, Buffer] | undefined>((resolve, reject) => {
          iterator.next((error, key, value) => {
            if (error) reject(new StoreError('scan', this.location, error));
            else resolve(key === undefined || value === undefined ? undefined : [key, value]);
          });
        });
        if (!entry) return;
        yield [entry[0].toString('utf8'), entry[1]];
      }
    } finally {
      await call('scan-end', this.location, (cb) => iterator.end(cb));
    }
  }

  clear(): Promise<void> {
    return call('clear', this.location, (cb) => this.db.clear({}, cb));
  }

  close(): Promise<void> {
    return call('close', this.location, (cb) => this.db.close(cb));
  }
}
