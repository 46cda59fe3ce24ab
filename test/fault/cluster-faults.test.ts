// The fault suite: each scenario on a real three-broker cluster (replication 3,
// min.insync.replicas=2), during a stream of real payloads with redeliveries and
// reordering, ends with every acknowledged delivery on the topic where ingest said it
// put it, and every series of both exporters equal to the independent oracle.
//
// Each scenario's recovery figures (longest stall, time to exact after the last fault,
// how soon every partition was fresh again after each marked fault) are held to its
// bounds (scenarios.ts, test/fault/bounds.ts).
//
// RUNSTREAM_FAULT_SEEDS (default 1) seeds per scenario, RUNSTREAM_FAULT_SCENARIOS (a
// comma-separated subset, by name; default all; an unknown name fails). Logs of a failed scenario stay in .fault-runs/
// (of every scenario with RUNSTREAM_FAULT_KEEP_LOGS=1), at RUNSTREAM_FAULT_LOG_LEVEL (info).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JarCluster, startJarCluster } from '../support/cluster.js';
import { boundViolations, selectedScenarios } from './bounds.js';
import { runIngestQuorum } from './ingest-quorum.js';
import { runScenario, summary } from './scenario.js';
import { SCENARIOS } from './scenarios.js';
import { processorLogs } from './witness.js';

const seeds = Number(process.env.RUNSTREAM_FAULT_SEEDS ?? '1');
const only = selectedScenarios(process.env.RUNSTREAM_FAULT_SCENARIOS, [
  'ingest-quorum',
  ...SCENARIOS.map((s) => s.name),
]);
const runsRoot = join(
  import.meta.dirname,
  '..',
  '..',
  '.fault-runs',
  new Date().toISOString().replace(/[:.]/g, '-'),
);

describe('exact on a three-broker cluster', () => {
  let cluster: JarCluster;

  beforeAll(async () => {
    cluster = await startJarCluster('runstream-fault-');
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it.skipIf(only && !only.includes('ingest-quorum'))(
    'ingest: 202 with one broker of three down, 503 within 10 s with two',
    async () => {
      const result = await runIngestQuorum(cluster, runsRoot);
      for (const p of result.phases) {
        console.log(
          `${p.phase}: ${p.accepted}/${p.sent} accepted, refused ${JSON.stringify(p.refused)}, slowest ${p.slowestMs} ms`,
        );
      }
      const [all, one, two, back] = result.phases;
      expect(all).toMatchObject({ accepted: all!.sent });
      expect(one).toMatchObject({ accepted: one!.sent });
      expect(two).toMatchObject({ accepted: 0, refused: { '503': two!.sent } });
      expect(two!.slowestMs).toBeLessThan(10_000);
      expect(back).toMatchObject({ accepted: back!.sent });
      expect(result.missing).toEqual([]);
      if (!process.env.RUNSTREAM_FAULT_KEEP_LOGS) await rm(result.runDir, { recursive: true, force: true });
    },
  );

  for (const spec of SCENARIOS.filter((s) => !only || only.includes(s.name))) {
    for (let seed = 1; seed <= seeds; seed++) {
      it(`${spec.name} (seed ${seed})`, async () => {
        const result = await runScenario(cluster, spec, seed, runsRoot);
        console.log(summary(result));
        const beyond = boundViolations(result, spec.bounds);
        if (
          result.missing.length > 0 ||
          Object.values(result.diffs).some((d) => d.length > 0) ||
          beyond.length > 0
        ) {
          console.log(`faults:\n  ${result.faults.join('\n  ')}`);
        }
        expect(result.missing, 'acknowledged deliveries missing from the topic').toEqual([]);
        expect(result.diffs, 'series different from the oracle').toEqual({ e1: [], e2: [] });
        expect(beyond, 'recovery figures beyond their bounds').toEqual([]);
        if (spec.witness) {
          const witnessed = spec.witness(await processorLogs(result.runDir));
          console.log(`witnessed (processors' logs):\n  ${witnessed.join('\n  ') || 'nothing'}`);
          expect(witnessed, 'what the processors logged of the fault (none: it missed its mark)').not.toEqual(
            [],
          );
        }
        if (!process.env.RUNSTREAM_FAULT_KEEP_LOGS) await rm(result.runDir, { recursive: true, force: true });
      });
    }
  }
});
