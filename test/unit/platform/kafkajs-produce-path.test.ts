// kafkajs' produce path as patches/kafkajs+2.2.4.patch makes it faster: the Encoder's
// pooled, unzeroed buffers, varints written in place, small varlongs (timestamp and
// offset deltas) without Long objects; records made without copying each message; a
// send's messages grouped by partition in linear time. These hold on the unpatched client
// too: they guard that the faster paths write the same bytes as the protocol defines
// (checked against a BigInt LEB128 written here), that record batches and produce
// requests decode as written, and that grouping keeps every message in order. The
// CRC32C of a record batch (eight bytes a step) is checked against one computed a bit
// at a time from the polynomial, here; encoders sized up front against batches of
// records of KBs, as ingest writes them. A broker
// rejects a malformed batch, so the integration suites check the same against Kafka.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { varlong } from '../../support/kafka-wire.js';

const require = createRequire(import.meta.url);

interface Encoder {
  writeVarInt(value: number): Encoder;
  writeVarLong(value: number): Encoder;
  writeInt32(value: number): Encoder;
  readonly buffer: Buffer;
}
const EncoderClass = require('kafkajs/src/protocol/encoder.js') as {
  new (): Encoder;
  sizeOfVarLong(value: number): number;
};
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (
  buffer: Buffer,
) => { readVarLong(): { toString(): string }; readVarInt(): number };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: object) => unknown;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch(batch: object): Promise<{ buffer: Buffer }>;
};
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
  decoder: unknown,
) => Promise<{
  records: Array<{ key: Buffer | null; value: Buffer | null; timestamp: string; offset: string }>;
}>;

const boundaries = [
  0,
  1,
  -1,
  63,
  -64,
  64,
  -65,
  8191,
  -8192,
  8192,
  2 ** 20,
  -(2 ** 20),
  2 ** 30 - 1,
  -(2 ** 30),
  2 ** 30,
  -(2 ** 30) - 1,
  2 ** 31 - 1,
  -(2 ** 31),
];
const wide = [2 ** 31, -(2 ** 31) - 1, 2 ** 40, -(2 ** 40), 1_796_193_707_467, Number.MAX_SAFE_INTEGER];

/** A deterministic spread of magnitudes (xorshift), both signs. */
function* spread(count: number, maxBits: number): Generator<number> {
  let x = 0x9e3779b9;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const bits = (x >>> 0) % maxBits;
    const magnitude = Math.floor(((x >>> 0) / 2 ** 32) * 2 ** bits);
    yield i % 2 === 0 ? magnitude : -magnitude;
  }
}

const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (args: {
  topic: string;
  partitionMetadata: unknown[];
  messages: Array<{ key: string; partition: number }>;
  partitioner: (args: { message: { partition: number } }) => number;
}) => Record<string, Array<{ key: string; partition: number }>>;
const produceRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: object) => {
  encode(): Promise<{ buffer: Buffer }>;
};

describe('patched kafkajs: the produce path', () => {
  it('groups a send by partition, every message once and in order', () => {
    const messages = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, partition: (i * 7) % 5 }));
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [{}],
      messages,
      partitioner: ({ message }) => message.partition,
    });
    expect(Object.keys(grouped).sort()).toEqual(['0', '1', '2', '3', '4']);
    for (const [partition, list] of Object.entries(grouped)) {
      expect(list).toEqual(messages.filter((m) => m.partition === Number(partition)));
    }
    expect(
      groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 }),
    ).toEqual({});
  });

  it('writes a produce request whose records carry every key, value, header and timestamp', async () => {
    const timestamp = 1_796_193_707_467;
    const messages = Array.from({ length: 50 }, (_, i) => ({
      key: Buffer.from(`key-${i}`),
      value: i % 9 === 0 ? null : Buffer.from(`value-${i}`),
      headers: i % 2 === 0 ? { trace: Buffer.from(`t${i}`) } : undefined,
      timestamp: String(timestamp + i * 1000),
    }));
    const request = produceRequest({
      acks: -1,
      timeout: 1000,
      topicData: [{ topic: 'changelog', partitions: [{ partition: 3, messages }] }],
    });
    const { buffer } = await request.encode();
    // Request: transactional id (null), acks, timeout, [topic [partition, records]].
    const decoder = new Decoder(buffer) as unknown as {
      readInt16(): number;
      readInt32(): number;
      readString(): string;
      readBytes(length: number): Buffer;
    };
    expect(decoder.readInt16()).toBe(-1);
    expect(decoder.readInt16()).toBe(-1);
    expect(decoder.readInt32()).toBe(1000);
    expect(decoder.readInt32()).toBe(1);
    expect(decoder.readString()).toBe('changelog');
    expect(decoder.readInt32()).toBe(1);
    expect(decoder.readInt32()).toBe(3);
    const batch = decoder.readBytes(decoder.readInt32());
    const decoded = (await decodeRecordBatch(new Decoder(batch))) as unknown as {
      records: Array<{
        key: Buffer;
        value: Buffer | null;
        headers: Record<string, Buffer>;
        timestamp: string;
      }>;
    };
    expect(decoded.records).toHaveLength(messages.length);
    for (const [i, record] of decoded.records.entries()) {
      const message = messages[i]!;
      expect(record.key).toEqual(message.key);
      expect(record.value).toEqual(message.value);
      expect(record.headers).toEqual(message.headers ?? {});
      expect(record.timestamp).toBe(message.timestamp);
    }
  });
});

describe('patched kafkajs: the encoder', () => {
  it('writes varints as the protocol defines them', () => {
    for (const value of [...boundaries, ...spread(5000, 31)]) {
      expect(new EncoderClass().writeVarInt(value).buffer, String(value)).toEqual(varlong(BigInt(value)));
    }
  });

  it('writes varlongs and sizes them as the protocol defines them, small or wide', () => {
    for (const value of [...boundaries, ...wide, ...spread(5000, 53)]) {
      const expected = varlong(BigInt(value));
      expect(new EncoderClass().writeVarLong(value).buffer, String(value)).toEqual(expected);
      expect(EncoderClass.sizeOfVarLong(value), String(value)).toBe(expected.length);
      expect(new Decoder(expected).readVarLong().toString()).toBe(String(value));
    }
  });

  it('keeps what was written when it grows past its first buffer', () => {
    const encoder = new EncoderClass();
    const expected: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      encoder.writeInt32(i).writeVarInt(i * 1000);
      const int = Buffer.alloc(4);
      int.writeInt32BE(i);
      expected.push(int, varlong(BigInt(i * 1000)));
    }
    expect(encoder.buffer).toEqual(Buffer.concat(expected));
  });

  it('encodes record batches that decode to what was written', async () => {
    const firstTimestamp = 1_796_193_707_467;
    // Deltas on both sides of the small-number path, keys and values null or not.
    const deltas = [0, 1, 2 ** 30 - 1, 2 ** 30, 2 ** 33];
    const messages = Array.from({ length: 300 }, (_, i) => ({
      key: i % 7 === 0 ? null : Buffer.from(`key-${i}`),
      value: i % 11 === 0 ? null : Buffer.from('v'.repeat(i * 13)),
      timestampDelta: deltas[i % deltas.length]!,
    }));
    const records = messages.map((m, i) =>
      Record({ key: m.key, value: m.value, offsetDelta: i, timestampDelta: m.timestampDelta }),
    );
    const batch = await RecordBatch({
      records,
      firstTimestamp,
      maxTimestamp: firstTimestamp + 2 ** 33,
      lastOffsetDelta: records.length - 1,
    });
    const decoded = await decodeRecordBatch(new Decoder(batch.buffer));
    expect(decoded.records).toHaveLength(messages.length);
    for (const [i, record] of decoded.records.entries()) {
      const message = messages[i]!;
      expect(record.offset).toBe(String(i));
      expect(record.timestamp).toBe(String(firstTimestamp + message.timestampDelta));
      expect(record.key).toEqual(message.key);
      expect(record.value).toEqual(message.value ?? null);
    }
  });
});

const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;

/** The oracle: CRC32C (Castagnoli, reflected polynomial 0x82f63b78) a bit at a time. */
function crc32cBitwise(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Deterministic bytes (xorshift), so a failure names a reproducible input. */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('patched kafkajs: the record batch checksum and sizes', () => {
  it('sums CRC32C as the polynomial defines it, at every length and alignment', () => {
    expect(crc32cBitwise(Buffer.from('123456789'))).toBe(0xe3069283); // the oracle's check value
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    const data = bytes(20_000, 7);
    for (let length = 0; length <= 80; length++) {
      for (const start of [0, 1, 3, 7]) {
        const slice = data.subarray(start, start + length);
        expect(crc32C(slice), `${length} bytes at ${start}`).toBe(crc32cBitwise(slice));
      }
    }
    for (const length of [1023, 8192, 8197, 19_999]) {
      expect(crc32C(data.subarray(1, 1 + length)), `${length} bytes`).toBe(
        crc32cBitwise(data.subarray(1, 1 + length)),
      );
    }
  });

  it('writes produce requests of records of KBs that decode as written, checksums right', async () => {
    const messages = (partition: number) =>
      Array.from({ length: 1 + partition }, (_, i) => ({
        key: Buffer.from(`run-${partition}-${i}`),
        value: bytes(7000 + 997 * i + partition, partition * 31 + i),
        headers: { 'delivery-id': Buffer.from(`d${i}`), event: Buffer.from('workflow_job') },
      }));
    const partitions = [0, 1, 4].map((partition) => ({ partition, messages: messages(partition) }));
    const request = produceRequest({
      acks: -1,
      timeout: 1000,
      topicData: [{ topic: 'deliveries', partitions }],
    });
    const { buffer } = await request.encode();
    const decoder = new Decoder(buffer) as unknown as {
      readInt16(): number;
      readInt32(): number;
      readString(): string;
      readBytes(length: number): Buffer;
    };
    decoder.readInt16();
    expect(decoder.readInt16()).toBe(-1);
    expect(decoder.readInt32()).toBe(1000);
    expect(decoder.readInt32()).toBe(1);
    expect(decoder.readString()).toBe('deliveries');
    expect(decoder.readInt32()).toBe(partitions.length);
    for (const { partition, messages: sent } of partitions) {
      expect(decoder.readInt32()).toBe(partition);
      const batch = decoder.readBytes(decoder.readInt32());
      // Base offset (8), length (4), leader epoch (4), magic (1), then the CRC of the rest.
      expect(batch.readUInt32BE(17), `partition ${partition}'s CRC`).toBe(crc32cBitwise(batch.subarray(21)));
      expect(batch.readInt32BE(8)).toBe(batch.length - 12);
      const decoded = (await decodeRecordBatch(new Decoder(batch))) as unknown as {
        records: Array<{ key: Buffer; value: Buffer; headers: Record<string, Buffer> }>;
      };
      expect(decoded.records).toHaveLength(sent.length);
      for (const [i, record] of decoded.records.entries()) {
        expect(record.key.equals(sent[i]!.key)).toBe(true);
        expect(record.value.equals(sent[i]!.value)).toBe(true);
        expect(record.headers).toEqual(sent[i]!.headers);
      }
    }
  });
});
