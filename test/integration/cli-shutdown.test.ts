// Ctrl-C on `npm start` signals its whole process group: the broker and `runstream all`
// stop at the same moment. runstream must still close its roles and exit 0 within a few
// seconds, without a run of error lines after "shutting down". It did not: the roles
// logged "stopped", then a client kept reconnecting to the dead broker, warning each
// time, until the 30 s watchdog exited 1 (or a second signal killed it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type JarBroker, startJarBroker } from '../support/broker.js';
import {
  allLines,
  type CliProcess,
  ERROR,
  levelOf,
  startCli,
  WARN,
  waitFor,
  waitForHttp,
} from '../support/cli-process.js';

/** How long runstream may take from SIGTERM to its exit, the broker gone. */
const EXIT_WITHIN_MS = 10_000;

describe('runstream all stopped together with its broker', () => {
  let broker: JarBroker | undefined;
  let stateDir: string | undefined;
  let all: CliProcess | undefined;

  beforeAll(async () => {
    broker = await startJarBroker('runstream-shutdown-kafka-');
    stateDir = await mkdtemp(join(tmpdir(), 'runstream-shutdown-state-'));
  });

  afterAll(async () => {
    // By pid, also when the test failed: the child (SIGTERM, then SIGKILL), then the broker.
    await all?.stop();
    await broker?.destroy();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('exits 0 within 10 s of SIGTERM, with no error line after "shutting down"', async () => {
    const ports = { ingest: await freePort(), processor: await freePort(), exporter: await freePort() };
    all = startCli(['all'], {
      KAFKA_BROKERS: broker!.brokers.join(','),
      RUNSTREAM_HOST: '',
      RUNSTREAM_STATE_DIR: stateDir!,
      RUNSTREAM_PARTITIONS: '3',
      RUNSTREAM_INGEST_PORT: String(ports.ingest),
      RUNSTREAM_PROCESSOR_PORT: String(ports.processor),
      RUNSTREAM_EXPORTER_PORT: String(ports.exporter),
      RUNSTREAM_LOG_LEVEL: 'info',
      RUNSTREAM_LOG_FORMAT: 'json',
      RUNSTREAM_WEBHOOK_SECRET: '',
    });
    const lines = allLines(all);
    for (const port of Object.values(ports)) {
      await waitForHttp(`http://127.0.0.1:${port}/readyz`, 90_000, () => lines().join('\n'));
    }

    const before = lines().length;
    await broker!.stop();
    // Signalled a second after the clients first saw the broker gone, while they retry
    // their connections, as when Ctrl-C reaches both and the broker's shutdown takes a moment.
    await waitFor('a client to see the broker gone', async () =>
      lines()
        .slice(before)
        .some((line) => line.includes('ECONNREFUSED'))
        ? true
        : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const signalledAt = Date.now();
    all.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      all.exited(),
      new Promise<'still running'>((resolve) => {
        timer = setTimeout(() => resolve('still running'), EXIT_WITHIN_MS);
      }),
    ]);
    clearTimeout(timer);
    const tookMs = Date.now() - signalledAt;

    const shutdown = lines().findIndex((line) => line.includes('"shutting down"'));
    expect(shutdown, lines().join('\n')).toBeGreaterThanOrEqual(0);
    const after = lines().slice(shutdown + 1);
    const log = `after "shutting down" (${tookMs} ms):\n${after.join('\n')}`;
    expect(code, log).toBe(0);
    // Each role closed (the exit is not the watchdog's).
    for (const role of ['ingest', 'processor', 'exporter']) {
      expect(
        after.some((line) => line.includes(`"${role} stopped"`)),
        log,
      ).toBe(true);
    }
    expect(
      after.filter((line) => levelOf(line) >= ERROR),
      log,
    ).toEqual([]);
    // A lost connection seen while closing may be worth a line; not a line per retry.
    expect(after.filter((line) => levelOf(line) >= WARN).length, log).toBeLessThanOrEqual(3);
  });
});
