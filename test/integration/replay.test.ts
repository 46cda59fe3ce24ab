// Replays never double count: archives replayed twice, archives of deliveries that
// already arrived live, corrupt lines, and a full reprocess from the deliveries topic.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateStream } from '../../demo/stream.js';
import { readExporterConfig, startExporter } from '../../exporter/main.js';
import type { ViewReader } from '../../exporter/view-reader.js';
import { DeliveryPublisher } from '../../ingest/publisher.js';
import type { RoleHandle } from '../../platform/role.js';
import { readProcessorConfig, startProcessor } from '../../processor/main.js';
import { resetProcessorState } from '../../processor/reprocess.js';
import { toArchiveLine } from '../../replay/archive.js';
import type { ArchiveLimits } from '../../replay/config.js';
import { exportDeliveries } from '../../replay/export.js';
import { replayFile } from '../../replay/file.js';
import {
  brokers,
  createTestTopics,
  readTopic,
  type TestTopics,
  testKafka,
  testLogger,
} from '../support/kafka.js';
import { publishDeliveries, toDelivery, waitForGroup } from '../support/publish.js';

describe('replay and reprocess', () => {
  let topics: TestTopics;
  let dir: string;
  let env: Record<string, string>;
  const handles: RoleHandle[] = [];

  beforeEach(async () => {
    topics = await createTestTopics(3);
    dir = await mkdtemp(join(tmpdir(), 'runstream-replay-'));
    env = {
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_TOPIC_PREFIX: topics.prefix,
      RUNSTREAM_PARTITIONS: '3',
      RUNSTREAM_STATE_DIR: join(dir, 'state'),
      RUNSTREAM_PROCESSOR_PORT: '0',
      RUNSTREAM_EXPORTER_PORT: '0',
      RUNSTREAM_HOST: '127.0.0.1',
    };
  });
  afterEach(async () => {
    for (const handle of handles.splice(0).reverse()) await handle.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function startRoles(): Promise<{ exporter: ViewReader; processorPort: number }> {
    const processor = await startProcessor(readProcessorConfig(env), testLogger);
    handles.push(processor);
    const exporter = await startExporter(readExporterConfig(env), testLogger);
    handles.push(exporter);
    return { exporter: exporter.exporter, processorPort: processor.port };
  }

  /** The served GitHub Actions lines once everything committed is in the view. */
  async function metricsAfterProcessing(exporter: ViewReader): Promise<string[]> {
    await waitForGroup(testKafka(), `${topics.prefix}processor`, topics.names.deliveries);
    await exporter.waitForCurrentEnd(60_000);
    return exporter.view
      .render()
      .split('\n')
      .filter((l) => l.startsWith('github_actions_'))
      .sort();
  }

  async function replay(path: string, reports: string[] = [], limits?: ArchiveLimits) {
    const publisher = new DeliveryPublisher({
      kafka: testKafka(),
      topic: topics.names.deliveries,
      logger: testLogger,
    });
    try {
      return await replayFile({ path, publisher, report: (m) => reports.push(m), batchSize: 50, limits });
    } finally {
      await publisher.close();
    }
  }

  it('replaying an archive twice changes no metric the second time; a corrupt line is reported and skipped', async () => {
    const { exporter } = await startRoles();
    const stream = generateStream({ seed: 31, runs: 25 });
    const lines = stream.map((d) => JSON.stringify(toArchiveLine(toDelivery(d).delivery)));
    lines.splice(10, 0, '{"id": "broken", "event": "workflow_job", "body": "{not json');
    lines.splice(
      20,
      0,
      '{"id":"00000000-0000-4000-8000-000000000020","event":"push","headers":{},"receivedAt":"2026-11-01T00:00:00Z","body":"{}"}',
    );
    const archive = join(dir, 'archive.ndjson');
    await writeFile(archive, `${lines.join('\n')}\n`);

    const reports: string[] = [];
    const first = await replay(archive, reports);
    expect(first).toEqual({ sent: stream.length, skipped: 1, invalid: 1 });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain('archive.ndjson:11: invalid line skipped: not JSON');
    const afterFirst = await metricsAfterProcessing(exporter);
    expect(afterFirst.some((l) => l.startsWith('github_actions_jobs_completed_total{'))).toBe(true);

    const second = await replay(archive);
    expect(second.sent).toBe(stream.length);
    expect(await metricsAfterProcessing(exporter)).toEqual(afterFirst);
  });

  it('a file beyond a limit is refused whole: nothing of it reaches the deliveries topic', async () => {
    const stream = generateStream({ seed: 33, runs: 25 });
    const lines = stream.map((d) => JSON.stringify(toArchiveLine(toDelivery(d).delivery)));
    const longest = Math.max(...lines.map((l) => Buffer.byteLength(l)));
    expect(lines.length).toBeGreaterThan(150);
    const archive = join(dir, 'too-long.ndjson.gz');
    const overlong = JSON.stringify({ id: 'x', event: 'workflow_job', body: 'a'.repeat(longest) });
    await writeFile(
      archive,
      gzipSync(`${[...lines.slice(0, 150), overlong, ...lines.slice(150)].join('\n')}\n`),
    );
    const limits = { maxLineBytes: longest, maxBytes: 2 ** 30 };
    const refused = await replay(archive, [], limits).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(await readTopic(topics.names.deliveries)).toHaveLength(0);
    expect(refused?.message).toBe(
      `${archive}:151: line longer than ${longest} bytes (RUNSTREAM_REPLAY_MAX_LINE_BYTES); nothing was published`,
    );
    // Without that line, the same archive is published whole.
    await writeFile(archive, gzipSync(`${lines.join('\n')}\n`));
    expect((await replay(archive, [], limits)).sent).toBe(lines.length);
    expect(await readTopic(topics.names.deliveries)).toHaveLength(lines.length);
  });

  it('an exported archive of live deliveries replays to no change, and reprocess rebuilds the same metrics', async () => {
    const { exporter } = await startRoles();
    const stream = generateStream({ seed: 32, runs: 25 });
    await publishDeliveries(testKafka(), topics.names.deliveries, stream);
    const live = await metricsAfterProcessing(exporter);
    expect(live.length).toBeGreaterThan(50);

    const archive = join(dir, 'export.ndjson.gz');
    const summary = await exportDeliveries({
      kafka: testKafka(),
      topic: topics.names.deliveries,
      logger: testLogger,
      out: archive,
    });
    expect(summary.written).toBe(stream.length);
    const exported = gunzipSync(await readFile(archive))
      .toString('utf8')
      .trim()
      .split('\n');
    expect(new Set(exported.map((l) => JSON.parse(l).id))).toEqual(new Set(stream.map((d) => d.id)));

    expect((await replay(archive)).sent).toBe(stream.length);
    expect(await metricsAfterProcessing(exporter)).toEqual(live);

    // Reprocess: stop the processor, reset its state, start it again from the earliest.
    const processor = handles.shift()!;
    await processor.close();
    const reset = await resetProcessorState({
      kafka: testKafka(),
      topics: topics.names,
      groupId: `${topics.prefix}processor`,
      stateDir: env.RUNSTREAM_STATE_DIR!,
      logger: testLogger,
    });
    expect(reset.tombstones).toBeGreaterThan(0);
    await exporter.waitForCurrentEnd(60_000);
    expect(exporter.view.counts()).toEqual({ gauge: 0, counter: 0, histogram: 0 });
    handles.unshift(await startProcessor(readProcessorConfig(env), testLogger));
    expect(await metricsAfterProcessing(exporter)).toEqual(live);
  });
});
