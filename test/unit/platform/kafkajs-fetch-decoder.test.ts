// kafkajs' record batch decoding as patches/kafkajs+2.2.4.patch makes it faster
// (`fetch-decoder`): offsets and timestamps summed as numbers while they are safe
// integers, each record read in place, headers gathered in one pass. These hold on the
// unpatched client too: they guard that the faster path decodes what the protocol
// defines. The batches are written byte by byte here (zigzag LEB128 from BigInt, the
// v2 record batch layout), and every offset and timestamp expected is BigInt arithmetic:
// first offsets and timestamps past 2^53, deltas wider than seven varlong bytes and
// negative ones, log-append time, repeated and odd header keys, a gzip-compressed batch.
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { varlong } from '../../support/kafka-wire.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => unknown;
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
  decoder: unknown,
) => Promise<{
  firstOffset: string;
  records: Array<{
    key: Buffer | null;
    value: Buffer | null;
    timestamp: string;
    offset: string;
    headers: Record<string, Buffer | Buffer[]>;
  }>;
}>;

const varBytes = (bytes: Buffer | null) =>
  bytes === null ? varlong(-1n) : Buffer.concat([varlong(BigInt(bytes.length)), bytes]);

interface TestRecord {
  offsetDelta: number;
  timestampDelta: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Array<[string, Buffer]>;
  /** Bytes past the headers that the record's length covers (a later version's fields). */
  trailing?: Buffer;
}

/** One record as the protocol lays it out: length, attributes, deltas, key, value, headers. */
function record(r: TestRecord): Buffer {
  const headers = r.headers ?? [];
  const body = Buffer.concat([
    Buffer.from([0]),
    varlong(r.timestampDelta),
    varlong(BigInt(r.offsetDelta)),
    varBytes(r.key),
    varBytes(r.value),
    varlong(BigInt(headers.length)),
    ...headers.map(([key, value]) => Buffer.concat([varBytes(Buffer.from(key)), varBytes(value)])),
    r.trailing ?? Buffer.alloc(0),
  ]);
  return Buffer.concat([varlong(BigInt(body.length)), body]);
}

function int64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(value);
  return b;
}

/** A v2 record batch (CRC left 0: kafkajs does not check it). */
function batch(options: {
  firstOffset: bigint;
  firstTimestamp: bigint;
  maxTimestamp?: bigint;
  logAppendTime?: boolean;
  gzip?: boolean;
  records: TestRecord[];
}): Buffer {
  const encoded = Buffer.concat(options.records.map(record));
  const attributes = (options.gzip ? 1 : 0) | (options.logAppendTime ? 0x8 : 0);
  const afterLength = Buffer.alloc(4 + 1 + 4 + 2 + 4);
  afterLength.writeInt32BE(0, 0); // partition leader epoch
  afterLength.writeInt8(2, 4); // magic
  afterLength.writeInt32BE(0, 5); // CRC
  afterLength.writeInt16BE(attributes, 9);
  afterLength.writeInt32BE(options.records.length - 1, 11); // last offset delta
  const tail = Buffer.alloc(2 + 4 + 4);
  tail.writeInt16BE(0, 0); // producer epoch
  tail.writeInt32BE(0, 2); // first sequence
  tail.writeInt32BE(options.records.length, 6);
  const body = Buffer.concat([
    afterLength,
    int64(options.firstTimestamp),
    int64(options.maxTimestamp ?? options.firstTimestamp),
    int64(-1n), // producer id
    tail,
    options.gzip ? gzipSync(encoded) : encoded,
  ]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length);
  return Buffer.concat([int64(options.firstOffset), length, body]);
}

const decode = (bytes: Buffer) => decodeRecordBatch(new Decoder(bytes));

/** Deltas around the fast path's edges: seven varlong bytes hold 49 bits, zigzagged 48. */
const TIMESTAMP_DELTAS = [
  0n,
  1n,
  -1n,
  63n,
  -64n,
  2n ** 30n,
  -(2n ** 31n),
  2n ** 47n - 1n,
  -(2n ** 47n),
  2n ** 48n - 1n,
  -(2n ** 48n),
  2n ** 48n,
  -(2n ** 48n) - 1n,
  2n ** 53n,
  -(2n ** 60n),
  2n ** 62n,
];

describe('patched kafkajs: the fetch decoder', () => {
  it('gives every record the offset and timestamp the protocol defines, small or wide', async () => {
    for (const firstOffset of [0n, 41n, 1_234_567_890_123n, 2n ** 53n - 3n, 2n ** 53n + 7n, 2n ** 62n]) {
      for (const firstTimestamp of [1_796_193_707_467n, -1n, 2n ** 53n - 1n, 2n ** 55n]) {
        const records = TIMESTAMP_DELTAS.map((timestampDelta, i) => ({
          offsetDelta: i * 3,
          timestampDelta,
          key: i % 5 === 0 ? null : Buffer.from(`key-${i}`),
          value: i % 7 === 0 ? null : Buffer.from(`value-${i}`.repeat(i)),
        }));
        const decoded = await decode(batch({ firstOffset, firstTimestamp, records }));
        expect(decoded.firstOffset).toBe(String(firstOffset));
        expect(decoded.records.map((r) => [r.offset, r.timestamp, r.key, r.value])).toEqual(
          records.map((r) => [
            String(firstOffset + BigInt(r.offsetDelta)),
            String(firstTimestamp + r.timestampDelta),
            r.key,
            r.value,
          ]),
        );
      }
    }
  });

  it('gives log-append time batches their max timestamp, and reads a compressed batch the same', async () => {
    const records = TIMESTAMP_DELTAS.slice(0, 6).map((timestampDelta, i) => ({
      offsetDelta: i,
      timestampDelta,
      key: Buffer.from(`k${i}`),
      value: Buffer.from(`v${i}`),
    }));
    const appended = await decode(
      batch({
        firstOffset: 100n,
        firstTimestamp: 5n,
        maxTimestamp: 1_796_193_707_999n,
        logAppendTime: true,
        records,
      }),
    );
    expect(appended.records.map((r) => r.timestamp)).toEqual(records.map(() => '1796193707999'));
    const plain = await decode(batch({ firstOffset: 2n ** 53n, firstTimestamp: 7n, records }));
    const gzipped = await decode(batch({ firstOffset: 2n ** 53n, firstTimestamp: 7n, records, gzip: true }));
    expect(gzipped.records).toEqual(plain.records);
    expect(plain.records.map((r) => r.offset)).toEqual(records.map((_, i) => String(2n ** 53n + BigInt(i))));
  });

  it('reads records one after another by their lengths, headers gathered per key in order', async () => {
    const h = (s: string) => Buffer.from(s);
    const records: TestRecord[] = [
      { offsetDelta: 0, timestampDelta: 0n, key: h('a'), value: h('1'), headers: [], trailing: h('???') },
      {
        offsetDelta: 1,
        timestampDelta: 1n,
        key: h('b'),
        value: h('2'),
        headers: [
          ['delivery-id', h('d1')],
          ['event', h('workflow_job')],
          ['x', h('1')],
          ['x', h('2')],
          ['x', h('3')],
          ['__proto__', h('p')],
          ['', h('empty')],
        ],
      },
      { offsetDelta: 2, timestampDelta: 2n, key: null, value: null, headers: [['only', h('o')]] },
    ];
    const decoded = await decode(batch({ firstOffset: 9n, firstTimestamp: 1000n, records }));
    expect(decoded.records.map((r) => [r.offset, r.key, r.value])).toEqual([
      ['9', h('a'), h('1')],
      ['10', h('b'), h('2')],
      ['11', null, null],
    ]);
    expect(decoded.records[0]!.headers).toEqual({});
    const headers = decoded.records[1]!.headers;
    expect(Object.keys(headers)).toEqual(['delivery-id', 'event', 'x', '__proto__', '']);
    expect(headers['delivery-id']).toEqual(h('d1'));
    expect(headers.x).toEqual([h('1'), h('2'), h('3')]);
    // An own property, as kafkajs' spread made it; the object's prototype is untouched.
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value).toEqual([Object.prototype, h('p')]);
    expect(decoded.records[2]!.headers).toEqual({ only: h('o') });
  });
});
