// `runstream replay --file`: publishes an archive's deliveries like ingest would,
// with their original delivery ids, so processors dedupe what they already applied.
// The archive is read twice, streaming: first checked against the limits (a line too
// long, too much once decompressed: the file is refused, nothing published), then
// published. An invalid line is reported and skipped, as always.
import { createReadStream, type ReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { DeliveryPublisher } from '../ingest/publisher.js';
import type { Delivery } from '../schemas/delivery.js';
import { parseArchiveLine } from './archive.js';
import { type ArchiveLimits, REPLAY_MAX_BYTES, REPLAY_MAX_LINE_BYTES } from './config.js';
import { ArchiveLimitError, boundedLines } from './lines.js';
import type { ProgressCounts, ProgressReporter } from './progress.js';

export interface ReplayFileOptions {
  path: string;
  publisher: Pick<DeliveryPublisher, 'publish'>;
  progress?: ProgressReporter;
  /** Where invalid lines are reported (line number and reason). */
  report: (message: string) => void;
  /** Defaults: the settings' defaults (replay/config.ts). */
  limits?: Partial<ArchiveLimits>;
  batchSize?: number;
  now?: () => number;
}

/** An archive beyond a limit: refused whole; the message is one line naming file and line. */
export class ArchiveRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveRefusedError';
  }
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

interface OpenArchive {
  file: ReadStream;
  chunks: AsyncIterable<Buffer>;
  close(): void;
}

async function openArchive(path: string): Promise<OpenArchive> {
  const gzip = await isGzip(path);
  const file = createReadStream(path, { highWaterMark: 1024 * 1024 });
  const gunzip = gzip ? file.pipe(createGunzip()) : undefined;
  // A read error of the file must end the gunzipped stream too, not leave it waiting.
  file.on('error', (error) => gunzip?.destroy(error));
  return {
    file,
    chunks: gunzip ?? file,
    close() {
      gunzip?.destroy();
      file.destroy();
    },
  };
}

function refusal(path: string, error: ArchiveLimitError, limits: ArchiveLimits, stage: string): Error {
  const what =
    error.limit === 'line'
      ? `line longer than ${limits.maxLineBytes} bytes (${REPLAY_MAX_LINE_BYTES.name})`
      : `the archive holds more than ${limits.maxBytes} bytes once decompressed (${REPLAY_MAX_BYTES.name})`;
  return new ArchiveRefusedError(`${path}:${error.lineNumber}: ${what}; ${stage}`);
}

/** Reads the whole archive under the limits without publishing; throws ArchiveRefusedError. */
async function checkArchive(path: string, limits: ArchiveLimits): Promise<void> {
  const archive = await openArchive(path);
  try {
    for await (const _line of boundedLines(archive.chunks, limits)) {
      // Only the limits are checked here; lines are parsed while publishing.
    }
  } catch (error) {
    if (error instanceof ArchiveLimitError) throw refusal(path, error, limits, 'nothing was published');
    throw error;
  } finally {
    archive.close();
  }
}

export async function replayFile(options: ReplayFileOptions): Promise<ProgressCounts> {
  const limits: ArchiveLimits = {
    maxLineBytes: options.limits?.maxLineBytes ?? REPLAY_MAX_LINE_BYTES.read({}),
    maxBytes: options.limits?.maxBytes ?? REPLAY_MAX_BYTES.read({}),
  };
  await checkArchive(options.path, limits);

  const { size } = await stat(options.path);
  const archive = await openArchive(options.path);
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
      options.progress?.update(counts, archive.file.bytesRead, size);
    });
    inFlight.add(done);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  };
  try {
    for await (const { lineNumber, bytes } of boundedLines(archive.chunks, limits)) {
      const text = bytes.toString('utf8');
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
  } catch (error) {
    // Checked a moment ago: the file changed underneath. What was sent is deduplicated
    // when the archive is replayed again.
    await Promise.allSettled(inFlight);
    if (error instanceof ArchiveLimitError) {
      throw refusal(
        options.path,
        error,
        limits,
        'the file changed during the replay: lines before it may have been published (replaying again is safe)',
      );
    }
    throw error;
  } finally {
    archive.close();
  }
  await flush();
  await Promise.all(inFlight);
  options.progress?.finish(counts);
  return counts;
}
