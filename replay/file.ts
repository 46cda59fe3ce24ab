// `runstream replay --file`: publishes an archive's deliveries like ingest would,
// with their original delivery ids, so processors dedupe what they already applied.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { DeliveryPublisher } from '../ingest/publisher.js';
import type { Delivery } from '../schemas/delivery.js';
import { parseArchiveLine } from './archive.js';
import type { ProgressCounts, ProgressReporter } from './progress.js';

export interface ReplayFileOptions {
  path: string;
  publisher: Pick<DeliveryPublisher, 'publish'>;
  progress?: ProgressReporter;
  /** Where invalid lines are reported (line number and reason). */
  report: (message: string) => void;
  batchSize?: number;
  now?: () => number;
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

export async function replayFile(options: ReplayFileOptions): Promise<ProgressCounts> {
  const { size } = await stat(options.path);
  const file = createReadStream(options.path);
  const input = (await isGzip(options.path)) ? file.pipe(createGunzip()) : file;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const counts: ProgressCounts = { sent: 0, skipped: 0, invalid: 0 };
  const batchSize = options.batchSize ?? 500;
  const now = options.now ?? Date.now;
  let batch: Array<{ key: string; delivery: Delivery }> = [];
  // A few batches in flight keep the producer busy while the next lines are parsed;
  // order does not matter (dedupe and the order-independent core make it so).
  const inFlight = new Set<Promise<void>>();
  const flush = async () => {
    if (batch.length === 0) return;
    const sending = batch;
    batch = [];
    const done: Promise<void> = options.publisher.publish(sending).then(() => {
      counts.sent += sending.length;
      inFlight.delete(done);
      options.progress?.update(counts, file.bytesRead, size);
    });
    inFlight.add(done);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  };
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber += 1;
    if (text.trim() === '') continue;
    const parsed = parseArchiveLine(text, now());
    if (parsed.kind === 'invalid') {
      counts.invalid += 1;
      options.report(`${options.path}:${lineNumber}: invalid line skipped: ${parsed.reason}`);
      continue;
    }
    if (parsed.kind === 'skipped') {
      counts.skipped += 1;
      continue;
    }
    batch.push({ key: parsed.key, delivery: parsed.delivery });
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  await Promise.all(inFlight);
  options.progress?.finish(counts);
  return counts;
}
