// The log an operator meets first (issue 15): a clean start of `runstream all` on a
// fresh broker of its own (topics and consumer groups still to be made, coordinators
// still moving), the demo stream, and a graceful stop (SIGTERM) log no line at error
// level and at most 2 warnings (the development secret is one).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type JarBroker, startJarBroker } from '../support/broker.js';
import { allLines, ERROR, levelOf, startCli, WARN, waitFor, waitForHttp } from '../support/cli-process.js';
import { parseExposition, scrape } from '../support/exposition.js';

describe('the log of a clean start, the demo and a graceful stop', () => {
  let broker: JarBroker;
  let stateDir: string;

  beforeAll(async () => {
    broker = await startJarBroker('runstream-logs-kafka-');
    stateDir = await mkdtemp(join(tmpdir(), 'runstream-logs-state-'));
  });

  afterAll(async () => {
    await broker?.destroy();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('has no error line and at most 2 warnings', async () => {
    const ports = { ingest: await freePort(), processor: await freePort(), exporter: await freePort() };
    // The defaults of `npm start`, but for the broker, the ports and the state directory:
    // no secret and no address, so the development secret on 127.0.0.1.
    const all = startCli(['all'], {
      KAFKA_BROKERS: broker.brokers.join(','),
      RUNSTREAM_HOST: '',
      RUNSTREAM_STATE_DIR: stateDir,
      RUNSTREAM_INGEST_PORT: String(ports.ingest),
      RUNSTREAM_PROCESSOR_PORT: String(ports.processor),
      RUNSTREAM_EXPORTER_PORT: String(ports.exporter),
      RUNSTREAM_LOG_LEVEL: 'info',
      RUNSTREAM_LOG_FORMAT: 'json',
      RUNSTREAM_WEBHOOK_SECRET: '',
    });
    const lines = allLines(all);
    try {
      for (const port of Object.values(ports)) {
        await waitForHttp(`http://127.0.0.1:${port}/readyz`, 90_000, () => lines().join('\n'));
      }
      const demo = startCli(['demo', '--url', `http://127.0.0.1:${ports.ingest}/webhook`, '--seed', '15'], {
        RUNSTREAM_WEBHOOK_SECRET: '',
      });
      expect(await demo.exited(), demo.log()).toBe(0);
      const unique = Number(/\((\d+) unique\)/.exec(demo.log())?.[1]);
      expect(unique).toBeGreaterThan(0);
      // Every delivery processed (applied, or stale when it taught nothing new).
      await waitFor(
        'the processor to take every delivery',
        async () => {
          const processed = parseExposition(await scrape(ports.processor))
            .filter((s) => s.name === 'runstream_processor_deliveries_total')
            .reduce((sum, s) => sum + s.value, 0);
          return processed >= unique ? true : undefined;
        },
        90_000,
      );
    } finally {
      await all.stop();
    }
    expect(all.child.exitCode).toBe(0);
    const errors = lines().filter((line) => levelOf(line) >= ERROR);
    const warnings = lines().filter((line) => levelOf(line) >= WARN && levelOf(line) < ERROR);
    expect(errors, `error lines:\n${errors.join('\n')}`).toEqual([]);
    expect(warnings.length, `warnings:\n${warnings.join('\n')}`).toBeLessThanOrEqual(2);
  });
});
