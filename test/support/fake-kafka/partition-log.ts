// One partition of the fake broker: its entries as an array. Transactional records
// share their transaction's outcome object, so ending the transaction settles all of
// them at once; a transaction's end writes a control marker (an offset no consumer
// reads). read_committed: nothing at or past the first open transaction's first record
// is visible (the last stable offset), aborted records are skipped.
import type { ConsumedRecord } from '../../../platform/kafka-port.js';

export interface TxnOutcome {
  state: 'open' | 'committed' | 'aborted';
}

interface Entry {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Readonly<Record<string, string>>;
  txn?: TxnOutcome;
  control?: true;
}

export interface IncomingRecord {
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Readonly<Record<string, string>>;
}

const bytes = (v: string | Buffer | null): Buffer | null => (typeof v === 'string' ? Buffer.from(v) : v);

export class PartitionLog {
  private readonly entries: Entry[] = [];
  /** First retained offset (records before it deleted by retention). */
  low = 0n;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** The next offset to be written (the high watermark). */
  get end(): bigint {
    return this.low + BigInt(this.entries.length);
  }

  /** Appends records (of a transaction when given); returns the first one's offset. */
  append(records: readonly IncomingRecord[], txn?: TxnOutcome): bigint {
    const base = this.end;
    for (const r of records) {
      this.entries.push({
        offset: this.end,
        key: bytes(r.key),
        value: bytes(r.value),
        ...(r.headers ? { headers: r.headers } : {}),
        ...(txn ? { txn } : {}),
      });
    }
    return base;
  }

  /** A transaction's commit or abort marker. */
  marker(txn: TxnOutcome): void {
    this.entries.push({ offset: this.end, key: null, value: null, txn, control: true });
  }

  /** The end offset a read_committed client sees: the first open transaction's first record. */
  get lastStable(): bigint {
    const open = this.entries.find((e) => e.txn?.state === 'open');
    return open ? open.offset : this.end;
  }

  /** Drops records before `offset` (retention). */
  truncateBefore(offset: bigint): void {
    while (this.low < offset && this.entries.length > 0) {
      this.entries.shift();
      this.low += 1n;
    }
  }

  /**
   * read_committed from `from`: up to `max` visible records, and the offset after the
   * last entry examined (markers and aborted records included).
   */
  readCommitted(from: bigint, max: number): { records: ConsumedRecord[]; next: bigint } {
    const stable = this.lastStable;
    let at = from < this.low ? this.low : from;
    const records: ConsumedRecord[] = [];
    while (at < stable && records.length < max) {
      const entry = this.entries[Number(at - this.low)]!;
      at += 1n;
      if (entry.control || entry.txn?.state === 'aborted') continue;
      records.push({
        offset: entry.offset.toString(),
        key: entry.key,
        value: entry.value,
        ...(entry.headers ? { headers: entry.headers } : {}),
      });
    }
    return { records, next: at };
  }

  /** Every committed record (for a test's oracle): what a read_committed reader gets from the start. */
  committed(): ConsumedRecord[] {
    return this.readCommitted(this.low, Number.MAX_SAFE_INTEGER).records;
  }
}
