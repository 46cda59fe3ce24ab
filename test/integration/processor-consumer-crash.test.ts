// A processor whose group consumer crashed on an error kafkajs does not restart on
// (restartOnFailure is consulted only for retriable errors) sat alive and "ok" and never
// consumed again: its partitions stalled silently. The deterministic real path used here:
// the broker comes back refusing the processor's session timeout (INVALID_SESSION_TIMEOUT
// on its JoinGroup, not retriable), then is put right. The same crash follows a broker
// down longer than the consumer's retries ("Failed to find group coordinator"), by timing.
// Once Kafka takes the consumer again, the processor must consume again by itself, and say
// so in its log.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type JarBroker, KAFKA_SCRIPT, startJarBroker } from '../support/broker.js';
import { allLines, type CliProcess, startCli, waitFor, waitForHttp } from '../support/cli-process.js';
import { example, retimed, signedRequest } from '../support/webhooks.js';

const run = promisify(execFile);
const SECRET = 'consumer-crash-test-secret';

interface Line {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function records(lines: readonly string[]): Line[] {
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Line];
    } catch {
      return [];
    }
  });
}

/** The processor's count of deliveries applied, from its /metrics. */
async function applied(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => /^runstream_processor_deliveries_total\{[^}]*result="applied"/.test(l));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function post(ingestPort: number, payload: Record<string, unknown>): Promise<number> {
  const { headers, body } = await signedRequest('workflow_job', payload, SECRET);
  const response = await fetch(`http://127.0.0.1:${ingestPort}/webhook`, { method: 'POST', headers, body });
  return response.status;
}

/** A fresh job delivery (its own job and run ids: a new entity, applied once). */
function jobDelivery(n: number): Record<string, unknown> {
  const payload = retimed(example('workflow_job', 'queued')) as {
    workflow_job: Record<string, unknown>;
  };
  payload.workflow_job = { ...payload.workflow_job, id: 7_000_000 + n, run_id: 8_000_000 + n };
  return payload;
}

describe('a processor whose consumer crashed for good', () => {
  let broker: JarBroker | undefined;
  let stateDir: string | undefined;
  let all: CliProcess | undefined;

  beforeAll(async () => {
    broker = await startJarBroker('runstream-consumer-crash-kafka-');
    stateDir = await mkdtemp(join(tmpdir(), 'runstream-consumer-crash-state-'));
  });

  afterAll(async () => {
    // By pid, also when the test failed: the child (SIGTERM, then SIGKILL), then the broker.
    await all?.stop();
    await broker?.destroy();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  /** Restarts the broker (same data, same ports) with this smallest session timeout. */
  async function restartBroker(minSessionTimeoutMs: number): Promise<void> {
    await broker!.stop();
    await run('bash', [KAFKA_SCRIPT, 'start'], {
      env: { ...broker!.env, KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: String(minSessionTimeoutMs) },
      timeout: 180_000,
    });
  }

  it('consumes again by itself once Kafka takes its consumer again, and logs what it does', async () => {
    const ports = { ingest: await freePort(), processor: await freePort(), exporter: await freePort() };
    all = startCli(['all'], {
      KAFKA_BROKERS: broker!.brokers.join(','),
      RUNSTREAM_HOST: '',
      RUNSTREAM_STATE_DIR: stateDir!,
      RUNSTREAM_PARTITIONS: '2',
      RUNSTREAM_PROCESSOR_SESSION_TIMEOUT: '6s',
      RUNSTREAM_INGEST_PORT: String(ports.ingest),
      RUNSTREAM_PROCESSOR_PORT: String(ports.processor),
      RUNSTREAM_EXPORTER_PORT: String(ports.exporter),
      RUNSTREAM_LOG_LEVEL: 'info',
      RUNSTREAM_LOG_FORMAT: 'json',
      RUNSTREAM_WEBHOOK_SECRET: SECRET,
    });
    const lines = allLines(all);
    // runstream's own lines (kafkajs' connection errors drown them while the broker is down).
    const log = () =>
      lines()
        .filter((line) => !line.includes('"component":"kafkajs"'))
        .slice(-60)
        .join('\n');
    for (const port of Object.values(ports))
      await waitForHttp(`http://127.0.0.1:${port}/readyz`, 90_000, log);
    expect(await post(ports.ingest, jobDelivery(1))).toBe(202);
    await waitFor(
      'the first delivery applied',
      async () => ((await applied(ports.processor)) >= 1 ? true : undefined),
      30_000,
      log,
    );

    // The broker comes back refusing the processor's 6 s session timeout: the consumer's
    // JoinGroup is answered INVALID_SESSION_TIMEOUT and it crashes; kafkajs gives it up.
    await restartBroker(30_000);
    await waitFor(
      'the consumer to crash on the refused session timeout',
      async () => (records(lines()).some((l) => l.msg.includes('the brokers refuse')) ? true : undefined),
      90_000,
      log,
    );
    // Put right: the processor must join again and process what arrives, with nothing else done.
    await restartBroker(6_000);
    await waitForHttp(`http://127.0.0.1:${ports.ingest}/readyz`, 60_000, log);
    const sent = [2, 3, 4, 5];
    for (const n of sent) expect(await post(ports.ingest, jobDelivery(n))).toBe(202);
    const backAt = Date.now();
    await waitFor(
      'the deliveries sent after the outage applied',
      async () => ((await applied(ports.processor)) >= 1 + sent.length ? true : undefined),
      60_000,
      log,
    );
    console.log(`processor consumed again ${Date.now() - backAt} ms after the deliveries were acknowledged`);
    expect(await applied(ports.processor)).toBe(1 + sent.length);

    const crashes = records(lines()).filter((l) =>
      /consumer crashed|restarting the consumer|brokers refuse|could not start/.test(l.msg),
    );
    console.log(crashes.map((l) => `${l.level} ${l.msg}`).join('\n'));
    // Each crash kafkajs gives up says what the processor does about it.
    expect(
      crashes.some((l) => l.msg.includes('will not restart')),
      log(),
    ).toBe(false);
    expect(
      crashes.some((l) => /restarting the consumer/.test(l.msg)),
      crashes.map((l) => l.msg).join('\n'),
    ).toBe(true);
    expect((await fetch(`http://127.0.0.1:${ports.processor}/healthz`)).status).toBe(200);
  });
});
