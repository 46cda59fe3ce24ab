// `runstream export`: writes the deliveries topic (or a time window of it) as an
// archive that `runstream replay --file` reads back.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { KafkaPort } from '../platform/kafka-port.js';
import type { Logger } from '../platform/log.js';
import { endOffsets, PartitionReader } from '../platform/partition-reader.js';
import { codecs } from '../schemas/codecs.js';
import { toArchiveLine } from './archive.js';

export interface ExportOptions {
  kafka: KafkaPort;
  topic: string;
  logger: Logger;
  /** '-' for standard output; a path ending in .gz is gzip-compressed. */
  out: string;
  sinceMs?: number;
  untilMs?: number;
  timeoutMs?: number;
}

export interface ExportSummary {
  written: number;
  outsideWindow: number;
  undecodable: number;
}

async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

export async function exportDeliveries(options: ExportOptions): Promise<ExportSummary> {
  const { kafka, topic } = options;
  const ends = await endOffsets(kafka, [topic]);
  // Start each partition at the first record received at `since`: no full scan.
  const starts = new Map<number, bigint | 'earliest'>();
  for (const key of ends.keys()) starts.set(Number(key.split('\u0000')[1]), 'earliest');
  if (options.sinceMs !== undefined) {
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const p of await admin.offsetsAtTime(topic, options.sinceMs)) {
        if (p.offset >= 0n) starts.set(p.partition, p.offset);
      }
    } finally {
      await admin.disconnect();
    }
  }
  const file = options.out === '-' ? process.stdout : createWriteStream(options.out);
  const gzip = options.out.endsWith('.gz') ? createGzip() : undefined;
  if (gzip) gzip.pipe(file);
  const sink: Writable = gzip ?? file;
  const summary: ExportSummary = { written: 0, outsideWindow: 0, undecodable: 0 };
  let pending = Promise.resolve();
  const reader = new PartitionReader(kafka, options.logger, `${topic}-export-`);
  try {
    await reader.start(
      [...starts].map(([partition, from]) => ({ topic, partition, from })),
      async (_topic, partition, messages) => {
        let text = '';
        for (const message of messages) {
          try {
            const delivery = codecs.delivery.decode(message.value ?? Buffer.alloc(0));
            const inWindow =
              (options.sinceMs === undefined || delivery.receivedAt >= options.sinceMs) &&
              (options.untilMs === undefined || delivery.receivedAt < options.untilMs);
            if (!inWindow) {
              summary.outsideWindow += 1;
              continue;
            }
            text += `${JSON.stringify(toArchiveLine(delivery))}\n`;
            summary.written += 1;
          } catch (error) {
            summary.undecodable += 1;
            options.logger.warn(
              { partition, offset: message.offset, err: (error as Error).message },
              'undecodable delivery not exported',
            );
          }
        }
        pending = pending.then(() => write(sink, text));
        await pending;
      },
    );
    await reader.waitForPositions(ends, options.timeoutMs ?? 10 * 60_000);
  } finally {
    await reader.stop();
  }
  await pending;
  if (sink !== process.stdout) {
    sink.end();
    await once(file, 'finish');
  }
  return summary;
}
