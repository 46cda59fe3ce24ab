// docker-compose.yml end to end, as an operator brings it up: one `up` starts Kafka
// (KRaft), the topics job, two of each role and Prometheus with the rules. Grafana is
// left out of this test only: its image is on no registry these machines reach and
// cannot be assembled from Debian (the compose file still names it for everyone else).
// A stream of real payloads goes through both ingest containers while a processor
// container is killed (`docker kill`) and started again on its volume (a warm restore,
// from its local checkpoint); both exporters then serve exactly the oracle's series,
// and Prometheus serves every recording rule's. `down -v` removes all of it, pass or fail.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { generateScenario } from '../../demo/stream.js';
import { sendStream } from '../fault/sender.js';
import { waitFor } from '../support/cli-process.js';
import { composeFile } from '../support/compose-file.js';
import { compose, composeCommand, docker, httpGet, httpGetInside } from '../support/docker.js';
import { parseExposition, samplesByKey } from '../support/exposition.js';
import { expectedSeries, seriesDiff } from '../support/oracle.js';

const skipped = inject('containersSkipped');
const project = `rstest${randomBytes(4).toString('hex')}`;
const env = {
  COMPOSE_PROJECT_NAME: project,
  RUNSTREAM_IMAGE: inject('runstreamImage'),
  RUNSTREAM_WEBHOOK_SECRET: randomBytes(16).toString('hex'),
  // Required by the file as a whole; Grafana itself is not started here.
  GRAFANA_ADMIN_PASSWORD: randomBytes(16).toString('hex'),
};
// The host ports docker-compose.yml publishes (on 127.0.0.1).
const INGEST = [
  { name: 'ingest-1', port: 8081 },
  { name: 'ingest-2', port: 8082 },
];
const EXPORTERS = [9464, 9465];
const PROMETHEUS = 9090;
const LEFT_OUT = ['grafana'];

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function served(port: number): Promise<Map<string, number>> {
  const { status, body } = await httpGet(`http://127.0.0.1:${port}/metrics`);
  if (status !== 200) throw new Error(`exporter on ${port} answered ${status}`);
  return samplesByKey(parseExposition(body), 'github_actions_');
}

async function promQuery(query: string): Promise<unknown[]> {
  const url = `http://127.0.0.1:${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(query)}`;
  const answer = JSON.parse((await httpGet(url)).body) as { data?: { result?: unknown[] } };
  return answer.data?.result ?? [];
}

/** The processor services of docker-compose.yml, and each one's share of the partitions. */
async function processorServices(): Promise<{ services: string[]; share: number }> {
  const file = parse(await readFile(composeFile, 'utf8'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, string> }>;
  };
  const services = Object.keys(file.services).filter((name) => name.startsWith('processor-'));
  const partitions = Number(file.services[services[0]!]!.environment!.RUNSTREAM_PARTITIONS);
  return { services, share: partitions / services.length };
}

describe.skipIf(skipped !== '')('docker compose', () => {
  let command: string[] = [];
  let processors = { services: [] as string[], share: 0 };
  const run = (args: string[], timeoutMs = 120_000) =>
    compose(command, ['-f', composeFile, ...args], { env, timeoutMs });
  const container = async (service: string) => run(['ps', '-q', service]);

  beforeAll(async () => {
    command = await composeCommand();
    processors = await processorServices();
    const taken: number[] = [];
    for (const port of [...INGEST.map((i) => i.port), ...EXPORTERS, PROMETHEUS]) {
      if (!(await portFree(port))) taken.push(port);
    }
    if (taken.length) throw new Error(`ports docker-compose.yml publishes are taken: ${taken.join(', ')}`);
    const services = (await run(['config', '--services'])).split('\n').filter((s) => !LEFT_OUT.includes(s));
    console.log(`compose: ${command.join(' ')} up: ${services.join(' ')} (left out: ${LEFT_OUT.join(', ')})`);
    const started = Date.now();
    await run(['up', '-d', '--no-build', ...services], 10 * 60_000);
    for (const port of [...INGEST.map((i) => i.port), ...EXPORTERS]) {
      await waitFor(
        `readyz on ${port}`,
        async () => ((await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined),
        120_000,
      );
    }
    // Each processor owns its share, restored: a processor killed before then has stores
    // with no checkpoint yet, and restores them in full whatever the assignment.
    for (const service of processors.services) {
      const id = await container(service);
      await waitFor(
        `${service} to own ${processors.share} partitions, restored`,
        async () => {
          const said = await httpGetInside(id, 'http://127.0.0.1:9400/readyz').catch(() => '');
          const owned = /^ready: owns partitions \[([\d,]*)\]/.exec(said)?.[1];
          return owned !== undefined && owned.split(',').length === processors.share ? true : undefined;
        },
        120_000,
      );
    }
    console.log(`compose: stack up and ready in ${Math.round((Date.now() - started) / 1000)} s`);
  });

  afterAll(async () => {
    if (command.length === 0) return;
    await run(['down', '-v', '--remove-orphans', '--timeout', '10'], 5 * 60_000);
    const label = `label=com.docker.compose.project=${project}`;
    const left = [
      await docker(['ps', '-aq', '--filter', label]),
      await docker(['volume', 'ls', '-q', '--filter', label]),
      await docker(['network', 'ls', '-q', '--filter', label]),
    ].join('');
    expect(left, 'containers, volumes or networks left by down -v').toBe('');
  });

  it('is exact on both exporters through a processor killed and started again on its volume', async () => {
    const { deliveries, truth } = generateScenario({
      seed: 21,
      runs: 120,
      firstRunId: 8_200_000_000,
      startMs: Date.now() - 3 * 3_600_000,
      duplicateRate: 0.2,
      disorderRate: 0.5,
    });
    const sending = sendStream(deliveries, {
      targets: () => INGEST,
      secret: env.RUNSTREAM_WEBHOOK_SECRET,
      burst: 10,
      burstsPerSecond: 8,
    });
    const processor = await container('processor-1');
    await new Promise((r) => setTimeout(r, 5_000));
    await docker(['kill', processor]);
    await new Promise((r) => setTimeout(r, 5_000));
    const restarted = new Date().toISOString();
    await run(['start', 'processor-1']);
    const report = await sending;
    expect(report.acks).toHaveLength(deliveries.length);
    expect(new Set(report.acks.map((a) => a.ingest)).size, 'both ingest containers took deliveries').toBe(2);

    // The same container, back on its volume: it gets back its share of the partitions,
    // the ones it held, and restores each from its local checkpoint.
    expect(await container('processor-1')).toBe(processor);
    const restores = await waitFor(
      'processor-1 to restore partitions',
      async () => {
        const samples = parseExposition(await httpGetInside(processor, 'http://127.0.0.1:9400/metrics'));
        const count = (mode: string) =>
          samples
            .filter(
              (s) =>
                s.name === 'runstream_processor_restore_duration_seconds_count' && s.labels.mode === mode,
            )
            .reduce((sum, s) => sum + s.value, 0);
        const counts = { checkpoint: count('checkpoint'), full: count('full') };
        return counts.checkpoint + counts.full >= processors.share ? counts : undefined;
      },
      120_000,
    );
    console.log(`compose: processor-1 after docker kill and start: restores ${JSON.stringify(restores)}`);
    // What it was given and how it restored each partition, so a failure explains itself.
    const said = (await docker(['logs', '--since', restarted, processor])).split('\n').flatMap((line) => {
      try {
        const { msg, partition, partitions, mode, reason } = JSON.parse(line) as Record<string, unknown>;
        return /partitions assigned|restor/.test(String(msg))
          ? [JSON.stringify({ msg, partition, partitions, mode, reason })]
          : [];
      } catch {
        return [];
      }
    });
    console.log(`compose: processor-1 said:\n${said.join('\n')}`);
    // Every partition it gets back is one it held: none restored in full.
    expect(restores).toEqual({ checkpoint: processors.share, full: 0 });

    const expected = expectedSeries(truth);
    const diffs: Record<number, string[]> = {};
    await waitFor(
      'both exporters to serve the oracle series',
      async () => {
        for (const port of EXPORTERS) {
          const got = await served(port);
          diffs[port] = got.size === 0 ? ['no github_actions_ series'] : seriesDiff(got, expected);
        }
        return EXPORTERS.every((p) => diffs[p]!.length === 0) ? true : undefined;
      },
      180_000,
      () => JSON.stringify(diffs, null, 1),
    );
    expect(diffs).toEqual({ 9464: [], 9465: [] });
    expect(expected.size).toBeGreaterThan(50);
    console.log(`compose: ${deliveries.length} deliveries, ${expected.size} series exact on both exporters`);
  });

  it("serves every recording rule's series from Prometheus, every target up", async () => {
    const rules = parse(
      await readFile(join(import.meta.dirname, '..', '..', 'deploy', 'prometheus', 'rules.yml'), 'utf8'),
    ) as {
      groups: Array<{ rules: Array<{ record?: string }> }>;
    };
    const records = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : [])));
    expect(records.length).toBeGreaterThan(5);
    let missing: string[] = records;
    await waitFor(
      'Prometheus to serve every recorded series',
      async () => {
        const empty: string[] = [];
        for (const record of records) if ((await promQuery(record)).length === 0) empty.push(record);
        missing = empty;
        return empty.length === 0 ? true : undefined;
      },
      180_000,
      () => `no series yet for: ${missing.join(', ')}`,
    );
    const targets = JSON.parse((await httpGet(`http://127.0.0.1:${PROMETHEUS}/api/v1/targets`)).body) as {
      data: { activeTargets: Array<{ scrapeUrl: string; health: string }> };
    };
    const down = targets.data.activeTargets.filter((t) => t.health !== 'up').map((t) => t.scrapeUrl);
    expect(targets.data.activeTargets.length).toBe(6);
    await waitFor(
      'every target up',
      async () => {
        const now = JSON.parse(
          (await httpGet(`http://127.0.0.1:${PROMETHEUS}/api/v1/targets`)).body,
        ) as typeof targets;
        return now.data.activeTargets.every((t) => t.health === 'up') ? true : undefined;
      },
      60_000,
      () => `down: ${down.join(', ')}`,
    );
  });
});
