// The image as operators run it: built from the project's Dockerfile (global-setup),
// `runstream all` from it with a read-only root filesystem and a volume on the state
// directory, as uid 1000, against a broker from the Kafka image docker-compose.yml
// names, on a network of their own. Ready on every port, and the series a stream of
// real payloads must produce served exactly (test/support/oracle.ts).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateScenario } from '../../demo/stream.js';
import { sendStream } from '../fault/sender.js';
import { waitFor } from '../support/cli-process.js';
import { composeDefault } from '../support/compose-file.js';
import { docker, httpGet, publishedPort } from '../support/docker.js';
import { parseExposition, samplesByKey } from '../support/exposition.js';
import { expectedSeries, seriesDiff } from '../support/oracle.js';

const skipped = inject('containersSkipped');
const image = inject('runstreamImage');
const tag = `rs-image-${randomBytes(4).toString('hex')}`;
const secret = randomBytes(16).toString('hex');
const containers: string[] = [];

/** One single-node KRaft broker, configured through the image's KAFKA_* contract. */
const KAFKA_ENV = {
  CLUSTER_ID: 'IJvWIWgsTnYMSvmx6Ai33A',
  KAFKA_NODE_ID: '1',
  KAFKA_PROCESS_ROLES: 'broker,controller',
  KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
  KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
  KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://kafka:9092',
  KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
  KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
  KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
  KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
  KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
  KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
  KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
  KAFKA_HEAP_OPTS: '-Xmx512m -Xms512m',
};

const envArgs = (env: Record<string, string>) => Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);

describe.skipIf(skipped !== '')('the runstream image', () => {
  let app = '';
  const ports = { ingest: 0, processor: 0, exporter: 0 };

  beforeAll(async () => {
    await docker(['network', 'create', '--label', `dev.runstream.test=${tag}`, tag]);
    const kafka = await docker([
      'run',
      '-d',
      '--name',
      `${tag}-kafka`,
      '--network',
      tag,
      '--network-alias',
      'kafka',
      '--label',
      `dev.runstream.test=${tag}`,
      ...envArgs(KAFKA_ENV),
      composeDefault('KAFKA_IMAGE'),
    ]);
    containers.push(kafka);
    await waitFor(
      'the broker to answer',
      async () => {
        await docker([
          'exec',
          kafka,
          '/opt/kafka/bin/kafka-broker-api-versions.sh',
          '--bootstrap-server',
          'localhost:9092',
        ]);
        return true;
      },
      120_000,
    );
    app = await docker([
      'run',
      '-d',
      '--name',
      `${tag}-all`,
      '--network',
      tag,
      '--read-only',
      '--label',
      `dev.runstream.test=${tag}`,
      '-v',
      `${tag}-state:/var/lib/runstream`,
      '-p',
      '127.0.0.1::8080',
      '-p',
      '127.0.0.1::9400',
      '-p',
      '127.0.0.1::9464',
      ...envArgs({
        KAFKA_BROKERS: 'kafka:9092',
        RUNSTREAM_WEBHOOK_SECRET: secret,
        RUNSTREAM_PARTITIONS: '4',
      }),
      image,
      'all',
    ]);
    containers.push(app);
    ports.ingest = await publishedPort(app, '8080/tcp');
    ports.processor = await publishedPort(app, '9400/tcp');
    ports.exporter = await publishedPort(app, '9464/tcp');
  });

  afterAll(async () => {
    if (containers.length) await docker(['rm', '-f', '-v', ...containers]).catch(() => undefined);
    await docker(['volume', 'rm', '-f', `${tag}-state`]).catch(() => undefined);
    await docker(['network', 'rm', tag]).catch(() => undefined);
    const left = await docker(['ps', '-aq', '--filter', `label=dev.runstream.test=${tag}`]);
    expect(left, 'containers left behind').toBe('');
  });

  it('runs as uid 1000 on a read-only root filesystem', async () => {
    const config = JSON.parse(await docker(['inspect', app]))[0];
    expect(config.Config.User).toBe('node');
    expect(config.HostConfig.ReadonlyRootfs).toBe(true);
    const status = await docker(['exec', app, 'cat', '/proc/1/status']);
    expect(status).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    await expect(docker(['exec', app, 'touch', '/app/probe'])).rejects.toThrow(/Read-only file system/);
    // The state volume is the one place it writes, and it may.
    await docker(['exec', app, 'touch', '/var/lib/runstream/probe']);
  });

  it('is ready on every role port and serves the series of a stream, exactly', async () => {
    const logs = async () => (await docker(['logs', '--tail', '30', app]).catch(() => '')) || '';
    for (const port of [ports.ingest, ports.processor, ports.exporter]) {
      await waitFor(
        `readyz on ${port}`,
        async () => ((await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined),
        120_000,
      );
    }
    const { deliveries, truth } = generateScenario({
      seed: 11,
      runs: 30,
      firstRunId: 8_100_000_000,
      startMs: Date.now() - 3 * 3_600_000,
      duplicateRate: 0.2,
      disorderRate: 0.5,
    });
    const report = await sendStream(deliveries, {
      targets: () => [{ name: 'all', port: ports.ingest }],
      secret,
      burst: 20,
      burstsPerSecond: 10,
    });
    expect(report.acks).toHaveLength(deliveries.length);
    const expected = expectedSeries(truth);
    let diffs: string[] = ['not scraped'];
    await waitFor(
      'the exporter to serve the oracle series',
      async () => {
        const served = samplesByKey(
          parseExposition((await httpGet(`http://127.0.0.1:${ports.exporter}/metrics`)).body),
          'github_actions_',
        );
        diffs = served.size === 0 ? ['no github_actions_ series'] : seriesDiff(served, expected);
        return diffs.length === 0 ? true : undefined;
      },
      120_000,
      () => diffs.join('\n'),
    ).catch(async (error) => {
      throw new Error(`${(error as Error).message}\n--- runstream all ---\n${await logs()}`);
    });
    expect(diffs).toEqual([]);
    expect(expected.size).toBeGreaterThan(20);
  });
});
